"""Homeroom: a fast school management system."""

import multiprocessing as _multiprocessing
import signal as _signal
import threading as _threading

__version__ = "0.1.0"

# A process that multiprocessing spawns (a server's worker, a CPU pool's process) imports this
# package first, while it re-imports the parent's main module. Ctrl-C in a terminal reaches the
# whole process group, and until such a process installs its own handlers (the servers'
# workers do once started; the pool's never need to) the interrupt would kill it mid-start
# with a traceback: its parent stops it instead. (The process has its name by then;
# parent_process() is only set after that import.)
if (
    _multiprocessing.current_process().name != "MainProcess"
    and _threading.current_thread() is _threading.main_thread()
):
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
