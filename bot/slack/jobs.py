"""Running a listener's work after the ack, in processes of their own.

A listener acks in the request's thread and hands the request body to a
JobRunner. The work (database writes, Web API calls) then runs in worker
processes at a lower CPU priority, so that under load it never takes the
interpreter lock or a core away from the next request's ack. A runner on
threads does the same in-process, for tests and for `WORK_PROCESSES=0`.
"""

import logging
import multiprocessing
import os
import signal
import threading
import zlib
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
from bot.slack.poster import PostError, SlackPoster, make_web_client

logger = logging.getLogger(__name__)

# Follow-up work yields the CPU to acks; a few milliseconds later is fine.
WORK_NICENESS = 10

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
        tell_user(services.poster, body, Message(messages.UNEXPECTED.format(ref=ref)))


def _run_in_worker_process(name: str, body: dict) -> None:
    run_job(_process_services, name, body)


def tell_user(poster, body: dict, message: Message) -> None:
    """Show a person a message: through the request's response_url, else in a DM."""
    try:
        respond = respond_for(body)
        if respond is not None:
            respond(
                text=message.text, response_type="ephemeral", replace_original=False
            )
            return
        user_id = actor_of(body)
        if user_id:
            poster.post(poster.open_dm(user_id), message)
    except (PostError, OSError) as error:
        logger.warning("could not tell the user error=%r", error)


class JobRunner:
    """Runs jobs in lanes: one person's jobs share a lane and run in order.

    Each lane runs one job at a time, so two quick clicks are applied in the
    order this process received them, while different people's jobs run side
    by side in other lanes.
    """

    def __init__(
        self,
        lanes: list[Executor],
        services: Services | None = None,
        new_lane: Callable[[], Executor] | None = None,
        notify: Callable[[dict, Message], None] | None = None,
    ) -> None:
        self.lanes = lanes
        self._services = services
        self._new_lane = new_lane
        self._notify = notify
        self._repair = threading.Lock()

    def submit(self, name: str, body: dict) -> None:
        index = zlib.crc32(actor_of(body).encode()) % len(self.lanes)
        lane = self.lanes[index]
        try:
            future = self._submit(lane, name, body)
        except BrokenProcessPool:
            future = self._submit(self._replace(index, lane, name), name, body)
        future.add_done_callback(partial(self._check_lost, name, body))

    def _replace(self, index: int, broken: Executor, name: str) -> Executor:
        """A new lane for one whose worker process died (killed, out of memory)."""
        with self._repair:
            if self.lanes[index] is broken:
                logger.warning("worker process lost, starting a new one job=%s", name)
                self.lanes[index] = self._new_lane()
                broken.shutdown(wait=False)
            return self.lanes[index]

    def _check_lost(self, name: str, body: dict, future: Future) -> None:
        """run_job handles its own failures; an exception here means it died."""
        error = future.exception()
        if error is None:
            return
        ref = new_reference()
        logger.error("job lost ref=%s job=%s error=%r", ref, name, error)
        if self._notify is not None:
            self._notify(body, Message(messages.LOST.format(ref=ref)))

    def _submit(self, lane: Executor, name: str, body: dict) -> Future:
        if self._services is not None:
            return lane.submit(run_job, self._services, name, body)
        return lane.submit(_run_in_worker_process, name, body)

    def shutdown(self) -> None:
        for lane in self.lanes:
            lane.shutdown(wait=True)


def actor_of(body: dict) -> str:
    """The Slack user a request comes from."""
    return (
        (body.get("user") or {}).get("id")
        or body.get("user_id")
        or (body.get("event") or {}).get("user")
        or ""
    )


def thread_runner(services: Services, lanes: list[Executor]) -> JobRunner:
    return JobRunner(lanes, services)


def process_runner(
    settings: Settings,
    config: Config,
    processes: int,
    pool_class: type[ProcessPoolExecutor] = ProcessPoolExecutor,
) -> JobRunner:
    """Worker processes, each with its own database pool and Web API client."""

    def new_lane() -> Executor:
        lane = pool_class(
            1,
            # spawn, not fork: the serving process has threads, and a forked
            # copy of a thread's locks can deadlock.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker_process,
            initargs=(settings, config),
        )
        # Start the process now rather than on the first click.
        lane.submit(os.getpid)
        return lane

    notifier = create_notifier(settings)
    return JobRunner(
        [new_lane() for _ in range(processes)], new_lane=new_lane, notify=notifier
    )


def create_notifier(settings: Settings) -> Callable:
    """Tells a person, from the web process, that their request was lost."""
    poster = SlackPoster(
        make_web_client(settings.slack_bot_token, settings.slack_api_url)
    )
    return partial(tell_user, poster)


def _start_worker_process(settings: Settings, config: Config) -> None:
    global _process_services
    from bot.__main__ import setup_logging
    from bot.app import create_services

    setup_logging(settings.log_level)
    os.nice(WORK_NICENESS)
    # Ctrl-C reaches the whole process group; the server stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _process_services = create_services(settings, config)
