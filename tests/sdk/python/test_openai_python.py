"""The gateway's OpenAI-compatible surface through the unchanged official Python client.

Run by tests/e2e/sdk-python.test.mjs, which starts the gateway (workerd + the AI stand-in) and
sets the environment: GATEWAY_URL and GATEWAY_BUDGET_URL (a tenant whose budget refuses
everything), TENANT_ID, TRACE_PREFIX, the expected answers EXPECTED_TEXT and BACKUP_TEXT, and
the model ids and aliases MODEL_PLAIN, MODEL_TOOLS, MODEL_JSON, MODEL_SIM (no scripted answer:
the stand-in answers tools and response_format itself), MODEL_MIDFAIL, MODEL_FAILING
(fails before any content: the chain falls back to MODEL_BACKUP), MODEL_FORBIDDEN (outside the
allow-list), MODEL_MISSING (allowed, but no such model), MODEL_UNLISTED, TIER_ALIAS and
TIER_TARGET, and the embedding model MODEL_EMBED with its EMBED_DIMS. Retries are off so every
error is the one the client raised.
"""

import array
import json
import os

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this through tests/e2e/sdk-python.test.mjs")
    return value


URL = need("GATEWAY_URL")
BUDGET_URL = need("GATEWAY_BUDGET_URL")
TENANT = need("TENANT_ID")
PREFIX = need("TRACE_PREFIX")
TEXT = need("EXPECTED_TEXT")
BACKUP_TEXT = need("BACKUP_TEXT")
PLAIN, TOOLS, JSON_MODEL = need("MODEL_PLAIN"), need("MODEL_TOOLS"), need("MODEL_JSON")
SIM = need("MODEL_SIM")
MIDFAIL, FAILING, BACKUP = need("MODEL_MIDFAIL"), need("MODEL_FAILING"), need("MODEL_BACKUP")
FORBIDDEN, MISSING, UNLISTED = need("MODEL_FORBIDDEN"), need("MODEL_MISSING"), need("MODEL_UNLISTED")
TIER, TIER_TARGET = need("TIER_ALIAS"), need("TIER_TARGET")
EMBED, EMBED_DIMS = need("MODEL_EMBED"), int(need("EMBED_DIMS"))

HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


class Weather(BaseModel):
    city: str
    temp: float


def trace(name: str) -> str:
    """A trace id the node side can look up in the stand-in's calls (`<prefix>-<name>`)."""
    return f"{PREFIX}-{name}"


def client(url: str = URL) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key="test", max_retries=0)


def headers(name: str) -> dict:
    return {"x-trace-id": trace(name)}


def test_models_list_retrieve_and_not_found():
    ids = [m.id for m in client().models.list()]
    for expected in (TIER, FAILING, BACKUP, MISSING):
        assert expected in ids
    assert len(ids) == len(set(ids))
    m = client().models.retrieve(PLAIN)  # sent as /v1/models/@cf%2Ftest%2Fplain
    assert (m.id, m.object, m.created, m.owned_by) == (PLAIN, "model", 0, "workers-ai")
    assert client().models.retrieve(TIER).owned_by == TENANT
    with pytest.raises(openai.NotFoundError) as e:
        client().models.retrieve(UNLISTED)
    assert e.value.code == "model_not_found"


def test_non_stream_and_raw_headers():
    raw = client().chat.completions.with_raw_response.create(model=PLAIN, messages=HI, extra_headers=headers("plain"))
    c = raw.parse()
    assert c.id == f"chatcmpl-{trace('plain')}"
    assert c.object == "chat.completion"
    assert c.model == PLAIN
    assert c.choices[0].message.content == TEXT
    assert c.choices[0].finish_reason == "stop"
    assert c.usage.total_tokens == c.usage.prompt_tokens + c.usage.completion_tokens
    assert raw.headers["x-model-id"] == PLAIN
    assert raw.headers["x-fallback"] == "false"
    assert raw.headers["x-tokens-used"] == str(c.usage.total_tokens)
    alias = client().chat.completions.create(model=TIER, messages=HI, max_completion_tokens=50, temperature=0.3, user="py-user")
    assert alias.model == TIER_TARGET


def test_stream_with_include_usage():
    stream = client().chat.completions.create(
        model=PLAIN, messages=HI, stream=True, stream_options={"include_usage": True}, extra_headers=headers("stream")
    )
    text, finish, usage, ids = "", None, None, set()
    for chunk in stream:
        ids.add(chunk.id)
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert text == TEXT
    assert finish == "stop"
    assert usage.completion_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert ids == {f"chatcmpl-{trace('stream')}"}
    # The stream helper assembles the chunks into a completion.
    with client().chat.completions.stream(model=PLAIN, messages=HI, stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == TEXT
    assert final.choices[0].finish_reason == "stop"
    assert final.usage.completion_tokens > 0


def test_tool_round_trip():
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client().chat.completions.create(model=TOOLS, messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    msg = first.choices[0].message
    call = msg.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Oslo"}
    # The documented pattern: append the assistant message object as returned, then the result.
    messages += [msg, {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp": 7})}]
    second = client().chat.completions.create(
        model=PLAIN, messages=messages, tools=[WEATHER_TOOL], extra_headers=headers("tools-roundtrip")
    )
    assert second.choices[0].message.content == TEXT
    # Streamed tool call deltas, assembled by the stream helper.
    with client().chat.completions.stream(model=TOOLS, messages=messages[:1], tools=[WEATHER_TOOL]) as s:
        final = s.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.choices[0].message.tool_calls[0].id == "call_0"
    assert json.loads(final.choices[0].message.tool_calls[0].function.arguments) == {"city": "Oslo"}


class GetWeather(BaseModel):
    city: str


def test_parsed_tool_call_round_trip():
    """parse() with a strict tool; its message (with `parsed` and `parsed_arguments`) goes back as is."""
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    tool = openai.pydantic_function_tool(GetWeather, name="get_weather")
    first = client().chat.completions.parse(model=TOOLS, messages=messages, tools=[tool])
    msg = first.choices[0].message
    assert msg.tool_calls[0].function.parsed_arguments == GetWeather(city="Oslo")
    messages += [msg, {"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": "7"}]
    second = client().chat.completions.create(model=PLAIN, messages=messages, extra_headers=headers("parsed-roundtrip"))
    assert second.choices[0].message.content == TEXT


def test_response_format():
    parsed = client().chat.completions.parse(
        model=JSON_MODEL, messages=HI, response_format=Weather, extra_headers=headers("json-schema")
    )
    assert parsed.choices[0].message.parsed == Weather(city="Oslo", temp=7)
    obj = client().chat.completions.create(
        model=JSON_MODEL, messages=HI, response_format={"type": "json_object"}, extra_headers=headers("json-object")
    )
    assert json.loads(obj.choices[0].message.content) == {"city": "Oslo", "temp": 7}


def test_stand_in_answers_tools_and_response_format():
    """The local stand-in's own answers (tests/support/ai-sim.mjs): the README's tool loop and
    parse() work locally instead of failing on a text answer (`'NoneType' object is not iterable`
    when iterating `message.tool_calls`)."""
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client().chat.completions.create(model=SIM, messages=messages, tools=[WEATHER_TOOL], extra_headers=headers("sim-tools"))
    assert first.choices[0].finish_reason == "tool_calls"
    msg = first.choices[0].message
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in msg.tool_calls] == [
        ("call_0", "get_weather", {"city": "Oslo"})
    ]
    messages += [msg, {"role": "tool", "tool_call_id": "call_0", "content": json.dumps({"temp": 7})}]
    second = client().chat.completions.create(
        model=SIM, messages=messages, tools=[WEATHER_TOOL], extra_headers=headers("sim-tools-result")
    )
    assert (second.choices[0].finish_reason, second.choices[0].message.content) == ("stop", 'The tool said: {"temp": 7}')
    assert second.choices[0].message.tool_calls is None
    # Streamed, assembled by the stream helper; and parse() with a strict pydantic tool.
    with client().chat.completions.stream(model=SIM, messages=messages[:1], tools=[WEATHER_TOOL]) as s:
        final = s.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert json.loads(final.choices[0].message.tool_calls[0].function.arguments) == {"city": "Oslo"}
    tool = openai.pydantic_function_tool(GetWeather, name="get_weather")
    parsed_call = client().chat.completions.parse(model=SIM, messages=messages[:1], tools=[tool])
    assert parsed_call.choices[0].message.tool_calls[0].function.parsed_arguments == GetWeather(city="Oslo")
    # Structured output: a JSON document that fits the pydantic model's schema.
    parsed = client().chat.completions.parse(
        model=SIM, messages=messages[:1], response_format=Weather, extra_headers=headers("sim-parse")
    )
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.choices[0].message.parsed == Weather(city="Oslo", temp=1)
    obj = client().chat.completions.create(model=SIM, messages=HI, response_format={"type": "json_object"})
    assert json.loads(obj.choices[0].message.content) == {"answer": "You said: Hi"}


@pytest.mark.parametrize(
    "kwargs, cls, status, type_, code, param",
    [
        ({"model": PLAIN, "n": 2}, openai.BadRequestError, 400, "invalid_request_error", "unsupported_parameter", "n"),
        ({"model": PLAIN, "logprobs": True}, openai.BadRequestError, 400, "invalid_request_error", "unsupported_parameter", "logprobs"),
        ({"model": PLAIN, "extra_body": {"frobnicate": 1}}, openai.BadRequestError, 400, "invalid_request_error", "unsupported_parameter", "frobnicate"),
        ({"model": FORBIDDEN}, openai.PermissionDeniedError, 403, "permission_error", "model_not_allowed", None),
        ({"model": MISSING}, openai.NotFoundError, 404, "invalid_request_error", "model_not_found", None),
        ({"model": MISSING, "stream": True}, openai.NotFoundError, 404, "invalid_request_error", "model_not_found", None),
    ],
)
def test_typed_errors(kwargs, cls, status, type_, code, param):
    name = f"err-{status}-{code}-{param}-{kwargs.get('stream', False)}"
    with pytest.raises(cls) as e:
        client().chat.completions.create(messages=HI, extra_headers=headers(name), **kwargs)
    err = e.value
    assert (err.status_code, err.type, err.code) == (status, type_, code)
    if param is not None:
        assert err.param == param
    assert err.response.headers["x-trace-id"] == trace(name)
    assert isinstance(err.body, dict) and err.body.get("message")


@pytest.mark.parametrize("stream", [False, True])
def test_rate_limit_error_on_budget(stream):
    with pytest.raises(openai.RateLimitError) as e:
        client(BUDGET_URL).chat.completions.create(model="", messages=HI, stream=stream)
    assert (e.value.status_code, e.value.type, e.value.code) == (429, "rate_limit_error", "budget_exceeded")
    assert e.value.response.headers.get("retry-after", "").isdigit()


def test_mid_stream_failure_raises():
    stream = client().chat.completions.create(model=MIDFAIL, messages=HI, stream=True, extra_headers=headers("midfail"))
    text = ""
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    assert not isinstance(e.value, (openai.APIStatusError, openai.APIConnectionError))
    assert (e.value.code, e.value.type) == ("ai_error", "api_error")
    assert text == "Hello from"
    with pytest.raises(openai.APIError):
        with client().chat.completions.stream(model=MIDFAIL, messages=HI) as s:
            s.get_final_completion()


def test_fallback_in_raw_headers():
    raw = client().chat.completions.with_raw_response.create(model=FAILING, messages=HI)
    assert raw.headers["x-fallback"] == "true"
    assert raw.headers["x-model-id"] == BACKUP
    c = raw.parse()
    assert (c.model, c.choices[0].message.content) == (BACKUP, BACKUP_TEXT)
    with client().chat.completions.with_streaming_response.create(model=FAILING, messages=HI, stream=True) as resp:
        assert resp.headers["x-fallback"] == "true"
        assert resp.headers["x-model-id"] == BACKUP
        text = "".join(ch.choices[0].delta.content or "" for ch in resp.parse() if ch.choices)
    assert text == BACKUP_TEXT


def test_embeddings_string_list_and_batches():
    # The SDK asks for base64 by default and decodes it; floats come as their shortest float32 text.
    one = client().embeddings.create(model=EMBED, input="How do budgets work?", extra_headers=headers("embed-one"))
    assert (one.object, one.model, len(one.data), one.data[0].index) == ("list", EMBED, 1, 0)
    assert len(one.data[0].embedding) == EMBED_DIMS
    assert one.usage.prompt_tokens == one.usage.total_tokens == 5
    floats = client().embeddings.create(model=EMBED, input="How do budgets work?", encoding_format="float")
    assert array.array("f", floats.data[0].embedding).tolist() == one.data[0].embedding
    inputs = [f"text number {i}" for i in range(150)]
    raw = client().embeddings.with_raw_response.create(model=EMBED, input=inputs, extra_headers=headers("embed-many"))
    many = raw.parse()
    assert [d.index for d in many.data] == list(range(150))
    assert all(len(d.embedding) == EMBED_DIMS for d in many.data)
    assert raw.headers["x-model-id"] == EMBED
    assert int(raw.headers["x-tokens-prompt"]) == many.usage.prompt_tokens > 0
    single = client().embeddings.create(model=EMBED, input=inputs[7])
    assert single.data[0].embedding == many.data[7].embedding


def test_embeddings_errors():
    with pytest.raises(openai.NotFoundError) as e:
        client().embeddings.create(model=MISSING, input="x")
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        client().embeddings.create(model=EMBED, input=[1, 2, 3])
    assert (e.value.code, e.value.param) == ("unsupported_parameter", "input")
    with pytest.raises(openai.RateLimitError) as e:
        client(BUDGET_URL).embeddings.create(model=EMBED, input="x" * 1000)
    assert (e.value.status_code, e.value.code) == (429, "budget_exceeded")
