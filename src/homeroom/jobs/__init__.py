"""Background jobs: durable in the jobs table, carried by a taskiq broker (in-process by
default, Redis or RabbitMQ when configured), run by whoever claims them first."""
