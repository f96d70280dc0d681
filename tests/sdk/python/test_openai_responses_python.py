"""The gateway's OpenAI Responses surface (`POST /v1/responses`) through the unchanged official
OpenAI Python client: `client.responses.create` (whole and streamed), the
`client.responses.stream` helper (stricter than Node's: it checks every event's identity),
`client.responses.parse`, function-tool round trips, stored responses and the typed errors.

Run by tests/e2e/sdk-python-surfaces.test.mjs, which starts the gateways and sets the
environment: GATEWAY_URL (api-keys mode, sessions on), GATEWAY_PLAIN_URL (open mode, no
sessions), GATEWAY_BUDGET_URL (a budget that refuses an output cap that does not fit), API_KEY
and API_KEY_B (two keys of GATEWAY_URL), BAD_KEY (well-formed, unknown), TRACE_PREFIX, and the
models MODEL_SIM (the stand-in answers tools and text.format itself), MODEL_ECHO (answers
"messages=<N> roles=..." of what it was sent), MODEL_MIDFAIL (fails mid-stream) and
MODEL_MISSING (no such model). Retries are off so every error is the one the client raised.
"""

import json
import os

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this through tests/e2e/sdk-python-surfaces.test.mjs")
    return value


URL, PLAIN_URL, BUDGET_URL = need("GATEWAY_URL"), need("GATEWAY_PLAIN_URL"), need("GATEWAY_BUDGET_URL")
KEY, KEY_B, BAD_KEY = need("API_KEY"), need("API_KEY_B"), need("BAD_KEY")
PREFIX = need("TRACE_PREFIX")
SIM, ECHO, MIDFAIL, MISSING = need("MODEL_SIM"), need("MODEL_ECHO"), need("MODEL_MIDFAIL"), need("MODEL_MISSING")

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
    "required": ["city", "temp"],
    "additionalProperties": False,
}


class Weather(BaseModel):
    city: str
    temp: float


def trace(name: str) -> str:
    """A trace id the node side can look up in the stand-in's calls (`<prefix>-<name>`)."""
    return f"{PREFIX}-rsp-{name}"


def headers(name: str) -> dict:
    return {"x-trace-id": trace(name)}


def client(url: str = URL, key: str = KEY) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def assert_usage(u) -> None:
    assert u.input_tokens > 0 and u.output_tokens > 0
    assert u.total_tokens == u.input_tokens + u.output_tokens
    assert u.input_tokens_details.cached_tokens == 0
    assert u.output_tokens_details.reasoning_tokens == 0


def test_create_output_text_usage_and_instructions():
    r = client().responses.create(
        model=SIM,
        input="Hello there",
        instructions="Be brief.",
        max_output_tokens=50,
        metadata={"case": "py"},
        extra_headers=headers("plain"),
    )
    assert r.object == "response"
    assert r.id.startswith("resp_")
    assert (r.status, r.model) == ("completed", SIM)
    assert r.output_text == "You said: Hello there"
    assert [(o.type, o.role, o.status) for o in r.output] == [("message", "assistant", "completed")]
    assert (r.instructions, r.max_output_tokens, r.metadata) == ("Be brief.", 50, {"case": "py"})
    assert r.error is None and r.incomplete_details is None
    assert_usage(r.usage)
    items = client().responses.create(
        model=SIM, input=[{"role": "user", "content": [{"type": "input_text", "text": "Items work"}]}]
    )
    assert items.output_text == "You said: Items work"


def test_create_stream_events():
    stream = client().responses.create(model=SIM, input="Stream this please", stream=True, extra_headers=headers("stream"))
    events = list(stream)
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "You said: Stream this please"
    assert events[0].response.id == events[-1].response.id
    final = events[-1].response
    assert final.status == "completed"
    assert final.output_text == text
    assert_usage(final.usage)


def test_stream_helper_snapshots_and_final_response():
    snapshots = []
    with client().responses.stream(model=SIM, input="Helper stream", extra_headers=headers("helper")) as s:
        for event in s:
            if event.type == "response.output_text.delta":
                snapshots.append(event.snapshot)
        final = s.get_final_response()
    assert snapshots[-1] == "You said: Helper stream"
    assert len(snapshots) >= 2
    assert final.status == "completed"
    assert final.output_text == "You said: Helper stream"
    assert_usage(final.usage)


def test_function_tool_round_trip_stateless():
    """The documented loop: append `response.output` to the input, then a function_call_output."""
    inputs = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client().responses.create(model=SIM, input=inputs, tools=[WEATHER_TOOL])
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1
    fc = calls[0]
    assert fc.name == "get_weather" and fc.call_id
    assert json.loads(fc.arguments) == {"city": "Oslo"}
    inputs += first.output
    inputs.append({"type": "function_call_output", "call_id": fc.call_id, "output": json.dumps({"temp": 7})})
    second = client().responses.create(model=SIM, input=inputs, tools=[WEATHER_TOOL], extra_headers=headers("tools-back"))
    assert second.output_text == 'The tool said: {"temp": 7}'
    assert not [o for o in second.output if o.type == "function_call"]
    assert_usage(second.usage)


def test_function_tool_round_trip_streamed_with_previous_response_id():
    arg_deltas = []
    with client().responses.stream(model=SIM, input="Weather in Oslo?", tools=[WEATHER_TOOL]) as s:
        for event in s:
            if event.type == "response.function_call_arguments.delta":
                arg_deltas.append(event.delta)
        first = s.get_final_response()
    fc = next(o for o in first.output if o.type == "function_call")
    assert json.loads(fc.arguments) == {"city": "Oslo"}
    assert "".join(arg_deltas) == fc.arguments
    second = client().responses.create(
        model=SIM,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": fc.call_id, "output": "7 degrees"}],
        tools=[WEATHER_TOOL],
        extra_headers=headers("tools-prev"),
    )
    assert second.output_text == "The tool said: 7 degrees"
    assert second.previous_response_id == first.id


def test_text_format_json_schema_and_parse():
    r = client().responses.create(
        model=SIM,
        input="Weather in Oslo?",
        text={"format": {"type": "json_schema", "name": "weather", "schema": WEATHER_SCHEMA, "strict": True}},
        extra_headers=headers("json"),
    )
    doc = json.loads(r.output_text)
    assert sorted(doc) == ["city", "temp"]
    assert doc["city"] == "Oslo" and isinstance(doc["temp"], (int, float))
    parsed = client().responses.parse(model=SIM, input="Weather in Oslo?", text_format=Weather)
    assert parsed.output_parsed == Weather(**doc)


def test_previous_response_id_continues_and_is_owner_isolated():
    first = client().responses.create(model=ECHO, input="My name is Ada")
    assert first.output_text == "messages=1 roles=user"
    second = client().responses.create(
        model=ECHO, input="What is my name?", previous_response_id=first.id, extra_headers=headers("prev")
    )
    assert second.output_text == "messages=3 roles=user,assistant,user"
    with client().responses.stream(model=ECHO, input="Again?", previous_response_id=second.id) as s:
        third = s.get_final_response()
    assert third.output_text == "messages=5 roles=user,assistant,user,assistant,user"
    for name, c, rid in [
        ("key-b", client(URL, KEY_B), first.id),
        ("unknown", client(), "resp_000000000000000000000000"),
    ]:
        with pytest.raises(openai.BadRequestError) as e:
            c.responses.create(model=ECHO, input="steal", previous_response_id=rid, extra_headers=headers(f"prev-{name}"))
        assert (e.value.status_code, e.value.type, e.value.param) == (400, "invalid_request_error", "previous_response_id")


@pytest.mark.parametrize("stream", [False, True])
def test_previous_response_id_without_sessions(stream):
    with pytest.raises(openai.BadRequestError) as e:
        client(PLAIN_URL, "test").responses.create(model=SIM, input="Hi", previous_response_id="resp_abc", stream=stream)
    err = e.value
    assert (err.status_code, err.type, err.code, err.param) == (400, "invalid_request_error", "invalid_request", "previous_response_id")
    assert "sessions are off" in err.message


def test_max_output_tokens_incomplete():
    r = client().responses.create(model=SIM, input="one two three four five", max_output_tokens=2)
    assert (r.status, r.incomplete_details.reason, r.output_text) == ("incomplete", "max_output_tokens", "You said")
    events = list(client().responses.create(model=SIM, input="one two three four five", max_output_tokens=2, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_mid_stream_failure_is_not_a_short_success():
    events = list(client().responses.create(model=MIDFAIL, input="one two three four", stream=True))
    types = [e.type for e in events]
    assert types[-2:] == ["error", "response.failed"], types
    assert "response.completed" not in types
    assert events[-2].code == "ai_error"
    assert events[-1].response.status == "failed" and events[-1].response.error.code == "ai_error"
    # The helper yields the error event, and has no response.completed to return: it raises.
    seen = []
    with pytest.raises(RuntimeError, match="response.completed"):
        with client().responses.stream(model=MIDFAIL, input="one two three four") as s:
            for event in s:
                seen.append(event.type)
            s.get_final_response()
    assert seen[-2:] == ["error", "response.failed"], seen


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "case, cls, status, type_, code, param",
    [
        ("auth", openai.AuthenticationError, 401, "authentication_error", "unauthorized", None),
        ("missing", openai.NotFoundError, 404, "invalid_request_error", "model_not_found", None),
        ("budget", openai.RateLimitError, 429, "rate_limit_error", "budget_exceeded", None),
        ("tool-type", openai.BadRequestError, 400, "invalid_request_error", "unsupported_parameter", "tools[0].type"),
    ],
)
def test_typed_errors(case, cls, status, type_, code, param, stream):
    name = f"err-{case}-{stream}"
    kwargs = {"model": SIM, "input": "Hi", "stream": stream, "extra_headers": headers(name)}
    if case == "auth":
        c = client(URL, BAD_KEY)
    elif case == "missing":
        c, kwargs["model"] = client(PLAIN_URL, "test"), MISSING
    elif case == "budget":
        c, kwargs["model"], kwargs["max_output_tokens"] = client(BUDGET_URL, "test"), "", 256
    else:
        c, kwargs["tools"] = client(PLAIN_URL, "test"), [{"type": "web_search_preview"}]
    with pytest.raises(cls) as e:
        c.responses.create(**kwargs)
    err = e.value
    assert (err.status_code, err.type, err.code, err.param) == (status, type_, code, param)
    assert err.response.headers["x-trace-id"] == trace(name)
    if case == "budget":
        assert err.response.headers.get("retry-after", "").isdigit()
