"""Job handlers of this package (registered with homeroom.jobs.registry.handler)."""

from typing import Any

from pydantic import ValidationError

from homeroom.exports import service as export_service
from homeroom.exports.schemas import export_request
from homeroom.jobs.registry import JobContext, JobFailed, handler
from homeroom.kit.errors import ValidationFailed


@handler(export_service.JOB_KIND)
async def run_export(ctx: JobContext) -> dict[str, Any]:
    """Writes the export a POST /exports described to the job's file, in its owner's scope."""
    try:
        request = export_request.validate_python(ctx.params)
        export = export_service.from_request(ctx.db, ctx.owner, request)
    except (ValidationError, ValidationFailed) as exc:
        raise JobFailed(f"the export's parameters are not valid: {exc}") from None
    total = await export.count()
    path = ctx.output(export.file_name, export.media_type)
    await ctx.progress(0)
    with path.open("wb") as out:
        async for chunk in export.chunks():
            out.write(chunk)
            if total:
                await ctx.progress(min(99, export.rows * 100 / total))
    return {"kind": request.kind, "format": request.format, "rows": export.rows}
