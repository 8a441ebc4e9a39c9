"""The LLM interpreter: the one module that talks to an OpenAI-compatible API.

It asks for structured output (a JSON schema) and checks every answer itself:
on a timeout, a rate limit, a server error, a refusal or an answer that does
not fit, it logs one line and returns what the offline rules propose instead.
"""

import json
import logging
from datetime import date

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Config
from bot.domain.interpret import FOLLOW_UPS, Interpreter, Proposal
from bot.templating import render

logger = logging.getLogger(__name__)

LLM = "llm"
SCHEMA = {
    "name": "proposal",
    "strict": True,
    "schema": {
        "type": "object",
        "additionalProperties": False,
        "required": ["level", "evidence", "confidence", "follow_up"],
        "properties": {
            "level": {"type": ["integer", "null"], "minimum": 0, "maximum": 3},
            "evidence": {"type": "string"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "follow_up": {"type": "string"},
        },
    },
}


class _Reply(BaseModel):
    # Out-of-range levels are refused here, never clamped.
    model_config = ConfigDict(extra="forbid", strict=True)

    level: int | None = Field(ge=0, le=3)
    evidence: str = Field(max_length=2000)
    confidence: float = Field(ge=0, le=1)
    follow_up: str = Field(max_length=300)


class LLMInterpreter:
    """Proposals from a model, falling back to `fallback` whenever it fails."""

    name = LLM

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        config: Config,
        fallback: Interpreter,
    ) -> None:
        self.client = client
        self.model = model
        self.config = config
        self.fallback = fallback

    def interpret(self, criterion: str, text: str, today: date) -> Proposal:
        if criterion not in FOLLOW_UPS or criterion not in self.config.matrix.criteria:
            return self.fallback.interpret(criterion, text, today)
        try:
            reply = self._ask(criterion, text, today)
        except (openai.APIError, ValidationError, ValueError) as error:
            logger.warning(
                "llm interpreter failed, using offline rules criterion=%s error=%s",
                criterion,
                type(error).__name__,
            )
            return self.fallback.interpret(criterion, text, today)
        return Proposal(
            criterion=criterion,
            level=reply.level,
            evidence=reply.evidence,
            confidence=round(reply.confidence, 2),
            follow_up=reply.follow_up,
            interpreter=LLM,
        )

    def _ask(self, criterion: str, text: str, today: date) -> _Reply:
        rubric = self.config.matrix.criteria[criterion]
        system = render(
            "interpret_system.md.j2",
            label=rubric.label,
            question=rubric.question,
            levels=rubric.levels,
            today=today.isoformat(),
        )
        # Closing tags typed by the rep must not end the data block early.
        data = text.replace("</answer>", "</ answer>")
        completion = self.client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": f"<answer>\n{data}\n</answer>"},
            ],
            response_format={"type": "json_schema", "json_schema": SCHEMA},
            temperature=0,
        )
        if not completion.choices:
            raise ValueError("no choices in the reply")
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise ValueError("the model refused")
        if not message.content:
            raise ValueError("empty reply")
        return _Reply.model_validate(json.loads(message.content))

    def write_brief(self, notes: dict[str, str]) -> str | None:
        """A short call summary for the AE from criterion -> note, or None."""
        recorded = "\n".join(f"{label}: {note}" for label, note in notes.items())
        data = recorded.replace("</notes>", "</ notes>")
        try:
            completion = self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": render("ae_brief_system.md.j2")},
                    {"role": "user", "content": f"<notes>\n{data}\n</notes>"},
                ],
                temperature=0,
                max_tokens=300,
            )
            text = completion.choices[0].message.content if completion.choices else ""
        except openai.APIError as error:
            logger.warning(
                "llm brief failed, using the template error=%s", type(error).__name__
            )
            return None
        if not text or not text.strip():
            logger.warning("llm brief failed, using the template error=EmptyReply")
            return None
        return text.strip()[:1500]


def create_llm_interpreter(
    *,
    api_key: str,
    base_url: str | None,
    model: str,
    timeout_s: float,
    config: Config,
    fallback: Interpreter,
) -> LLMInterpreter:
    # One retry: a 429's Retry-After is honoured by the client, but a slow
    # model must not hold a job for long; the offline rules are the fallback.
    client = openai.OpenAI(
        api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=1
    )
    return LLMInterpreter(client, model, config, fallback)
