"""Running a listener's work after the ack, in processes of their own.

A listener acks in the request's thread and hands the request body to a
JobRunner. The work (database writes, Web API calls) then runs in a pool of
worker processes at a lower CPU priority, so that under load it never takes
the interpreter lock or a core away from the next request's ack. A runner on
threads does the same in-process, for tests and for `WORK_PROCESSES=0`.
"""

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from slack_bolt.context.respond import Respond

from bot import messages
from bot.config import Config
from bot.conversation import Services, new_reference
from bot.settings import Settings
from bot.slack.blocks import Message
from bot.slack.poster import PostError

logger = logging.getLogger(__name__)

# Follow-up work yields the CPU to acks; a few milliseconds later is fine.
WORK_NICENESS = 10

Job = Callable[[Services, dict, Respond | None], None]

# Set in each worker process by _start_worker_process.
_process_services: Services | None = None


def respond_for(body: dict) -> Respond | None:
    """Bolt's `respond` for a request that came with a response_url."""
    url = body.get("response_url")
    return Respond(response_url=url) if url else None


def run_job(services: Services, name: str, body: dict) -> None:
    """Run one job; a failure is logged once and shown to the user with a ref."""
    from bot.slack.listeners import JOBS

    job = JOBS[name]
    respond = respond_for(body)
    try:
        job(services, body, respond)
    except Exception as error:
        ref = new_reference()
        logger.error("job failed ref=%s job=%s", ref, name, exc_info=error)
        _tell(services, body, respond, Message(messages.UNEXPECTED.format(ref=ref)))


def _log_lost_job(name: str, future: Future) -> None:
    """run_job handles its own failures; an exception here means the job died."""
    error = future.exception()
    if error is not None:
        logger.error("job lost job=%s error=%r", name, error)


def _run_in_worker_process(name: str, body: dict) -> None:
    run_job(_process_services, name, body)


def _tell(
    services: Services, body: dict, respond: Respond | None, message: Message
) -> None:
    try:
        if respond is not None:
            respond(
                text=message.text, response_type="ephemeral", replace_original=False
            )
            return
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        if user_id:
            services.poster.post(services.poster.open_dm(user_id), message)
    except (PostError, OSError) as error:
        logger.warning("could not tell the user about a failure error=%s", error)


class JobRunner:
    def __init__(
        self,
        executor: Executor,
        services: Services | None = None,
        new_executor: Callable[[], Executor] | None = None,
    ) -> None:
        self.executor = executor
        self._services = services
        self._new_executor = new_executor

    def submit(self, name: str, body: dict) -> None:
        try:
            future = self._submit(name, body)
        except BrokenProcessPool:
            # A worker process died (killed, out of memory): the pool refuses
            # all work from then on, so start a new one.
            logger.warning("worker pool broken, starting a new one job=%s", name)
            self.executor = self._new_executor()
            future = self._submit(name, body)
        future.add_done_callback(partial(_log_lost_job, name))

    def _submit(self, name: str, body: dict) -> Future:
        if self._services is not None:
            return self.executor.submit(run_job, self._services, name, body)
        return self.executor.submit(_run_in_worker_process, name, body)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)


def thread_runner(services: Services, executor: Executor) -> JobRunner:
    return JobRunner(executor, services)


def process_runner(
    settings: Settings,
    config: Config,
    processes: int,
    pool_class: type[ProcessPoolExecutor] = ProcessPoolExecutor,
) -> JobRunner:
    """A pool of worker processes, each with its own database pool and client."""

    def new_executor() -> Executor:
        executor = pool_class(
            processes,
            # spawn, not fork: the serving process has threads, and a forked
            # copy of a thread's locks can deadlock.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker_process,
            initargs=(settings, config),
        )
        # Start the processes now rather than on the first click.
        for _ in range(processes):
            executor.submit(os.getpid)
        return executor

    return JobRunner(new_executor(), new_executor=new_executor)


def _start_worker_process(settings: Settings, config: Config) -> None:
    global _process_services
    from bot.__main__ import setup_logging
    from bot.app import create_services

    setup_logging(settings.log_level)
    os.nice(WORK_NICENESS)
    _process_services = create_services(settings, config)
