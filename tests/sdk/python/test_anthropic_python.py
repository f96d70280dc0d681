"""The gateway's Anthropic Messages surface (`POST /v1/messages`, `GET /v1/models`) through the
unchanged official Anthropic Python client (2.x: `api_key` goes out as `Authorization: Bearer`
with `anthropic-version: 2026-10-21`): `client.messages.create` (whole and streamed), the
`client.messages.stream` helper, tool_use -> tool_result round trips, `models.list()` and the
typed errors, with the gateway key as `api_key`, as `auth_token`, and as the classic
`x-api-key` header; end-user tokens as `auth_token`.

Run by tests/e2e/sdk-python-surfaces.test.mjs (see test_openai_responses_python.py for the
environment; this module also reads USER_TOKEN, an end-user token for GATEWAY_URL's tenant).
Retries are off so every error is the one the client raised.
"""

import json
import os

import anthropic
import pytest
from anthropic import Anthropic


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this through tests/e2e/sdk-python-surfaces.test.mjs")
    return value


URL, BUDGET_URL = need("GATEWAY_URL"), need("GATEWAY_BUDGET_URL")
KEY, BAD_KEY, USER_TOKEN = need("API_KEY"), need("BAD_KEY"), need("USER_TOKEN")
PREFIX = need("TRACE_PREFIX")
SIM, MIDFAIL, MISSING = need("MODEL_SIM"), need("MODEL_MIDFAIL"), need("MODEL_MISSING")
BUDGET_MODEL = "@cf/test/primary"

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HI = [{"role": "user", "content": "Hi"}]
WAYS = ["api_key", "auth_token", "x_api_key"]


def trace(name: str) -> str:
    return f"{PREFIX}-ant-{name}"


def headers(name: str) -> dict:
    return {"x-trace-id": trace(name)}


def client(url: str = URL, credential: str = KEY, way: str = "api_key") -> Anthropic:
    """`api_key` (Bearer since 2.0), `auth_token` (Bearer), or the `x-api-key` header that the
    API docs, curl and the 1.x clients send (with their `anthropic-version: 2023-06-01`)."""
    if way == "api_key":
        return Anthropic(base_url=url, api_key=credential, max_retries=0)
    if way == "auth_token":
        return Anthropic(base_url=url, auth_token=credential, max_retries=0)
    return Anthropic(
        base_url=url,
        max_retries=0,
        default_headers={"x-api-key": credential, "anthropic-version": "2023-06-01"},
    )


def text_of(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def assert_usage(u) -> None:
    assert u.input_tokens > 0 and u.output_tokens > 0


@pytest.mark.parametrize("way", WAYS)
def test_create(way):
    raw = client(way=way).messages.with_raw_response.create(
        model=SIM,
        max_tokens=50,
        system="Be brief.",
        stop_sequences=["\n\nHuman:"],
        messages=[{"role": "user", "content": "Hello there"}],
        extra_headers=headers(f"create-{way}"),
    )
    m = raw.parse()
    assert (m.type, m.role, m.model) == ("message", "assistant", SIM)
    assert m.id == f"msg_{trace(f'create-{way}')}"
    assert [(b.type, b.text) for b in m.content] == [("text", "You said: Hello there")]
    assert (m.stop_reason, m.stop_sequence) == ("end_turn", None)
    assert_usage(m.usage)
    assert raw.headers["x-tokens-used"] == str(m.usage.input_tokens + m.usage.output_tokens)


def test_create_stream_events():
    name = "stream"
    events = list(
        client().messages.create(
            model=SIM, max_tokens=100, stream=True, messages=[{"role": "user", "content": "Stream this please"}], extra_headers=headers(name)
        )
    )
    types = [e.type for e in events]
    assert types[:2] == ["message_start", "content_block_start"], types
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"], types
    assert events[0].message.id == f"msg_{trace(name)}"
    deltas = [e.delta.text for e in events if e.type == "content_block_delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == "You said: Stream this please"
    md = next(e for e in events if e.type == "message_delta")
    assert md.delta.stop_reason == "end_turn"
    assert md.usage.output_tokens > 0 and md.usage.input_tokens > 0


@pytest.mark.parametrize("who", ["key", "user"])
def test_stream_helper(who):
    c = client(way="auth_token", credential=KEY if who == "key" else USER_TOKEN)
    with c.messages.stream(model=SIM, max_tokens=100, messages=[{"role": "user", "content": "Helper stream"}], extra_headers=headers(f"helper-{who}")) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "You said: Helper stream"
    assert final.id == f"msg_{trace(f'helper-{who}')}"
    assert text_of(final) == text
    assert final.stop_reason == "end_turn"
    assert_usage(final.usage)
    with c.messages.stream(model=SIM, max_tokens=100, messages=HI) as s:
        assert s.get_final_text() == "You said: Hi"


def test_tool_round_trip():
    """The documented loop: the assistant's `response.content` as it came, then a tool_result."""
    messages = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client().messages.create(model=SIM, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1
    use = uses[0]
    assert use.name == "get_weather" and use.id
    assert use.input == {"city": "Oslo"}
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": json.dumps({"temp": 7})}]},
    ]
    second = client().messages.create(model=SIM, max_tokens=100, messages=messages, tools=[WEATHER_TOOL], extra_headers=headers("tool-back"))
    assert second.stop_reason == "end_turn"
    assert text_of(second) == 'The tool said: {"temp": 7}'
    # Streamed: the helper assembles the tool input from input_json deltas.
    with client().messages.stream(model=SIM, max_tokens=100, messages=messages[:1], tools=[WEATHER_TOOL]) as s:
        streamed = s.get_final_message()
    assert streamed.stop_reason == "tool_use"
    suse = next(b for b in streamed.content if b.type == "tool_use")
    assert (suse.name, suse.input) == ("get_weather", {"city": "Oslo"})
    back = messages[:1] + [
        {"role": "assistant", "content": streamed.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": suse.id, "content": [{"type": "text", "text": "7 degrees"}]}]},
    ]
    with client().messages.stream(model=SIM, max_tokens=100, messages=back, tools=[WEATHER_TOOL]) as s:
        assert s.get_final_text() == "The tool said: 7 degrees"


def test_max_tokens_cut():
    m = client().messages.create(model=SIM, max_tokens=2, messages=[{"role": "user", "content": "one two three four"}])
    assert (m.stop_reason, text_of(m)) == ("max_tokens", "You said")
    with client().messages.stream(model=SIM, max_tokens=2, messages=[{"role": "user", "content": "one two three four"}]) as s:
        final = s.get_final_message()
    assert (final.stop_reason, text_of(final)) == ("max_tokens", "You said")


def test_mid_stream_failure_raises():
    text = ""
    with pytest.raises(anthropic.APIStatusError) as e:
        for event in client().messages.create(model=MIDFAIL, max_tokens=100, stream=True, messages=[{"role": "user", "content": "one two three four"}]):
            if event.type == "content_block_delta":
                text += event.delta.text
    assert e.value.type == "api_error"
    assert text == "You said:"
    with pytest.raises(anthropic.APIStatusError) as e:
        with client().messages.stream(model=MIDFAIL, max_tokens=100, messages=[{"role": "user", "content": "one two three four"}]) as s:
            s.get_final_message()
    assert e.value.type == "api_error"


def test_models_list():
    page = client().models.list()
    ids = [m.id for m in page.data]
    for expected in ("fast", "@cf/test/primary", "@cf/test/backup"):
        assert expected in ids
    assert page.has_more is False
    assert (page.first_id, page.last_id) == (ids[0], ids[-1])
    for m in page.data:
        assert m.type == "model" and isinstance(m.display_name, str) and m.created_at.year >= 1970
    assert [m.id for m in client(way="x_api_key").models.list()] == ids


def expect_error(call, cls, status, type_, name):
    with pytest.raises(cls) as e:
        call()
    err = e.value
    assert (err.status_code, err.type) == (status, type_)
    assert isinstance(err.body, dict) and err.body.get("type") == "error"
    assert err.body["error"]["type"] == type_ and err.body["error"]["message"]
    assert err.body.get("request_id") == trace(name)
    assert err.response.headers["x-trace-id"] == trace(name)
    return err


@pytest.mark.parametrize("way", WAYS)
def test_authentication_error(way):
    name = f"401-{way}"
    err = expect_error(
        lambda: client(credential=BAD_KEY, way=way).messages.create(model=SIM, max_tokens=10, messages=HI, extra_headers=headers(name)),
        anthropic.AuthenticationError, 401, "authentication_error", name,
    )
    assert BAD_KEY[4:] not in str(err)


def test_end_user_token_is_bearer_only():
    expect_error(
        lambda: client(credential=USER_TOKEN, way="x_api_key").messages.create(model=SIM, max_tokens=10, messages=HI, extra_headers=headers("401-user")),
        anthropic.AuthenticationError, 401, "authentication_error", "401-user",
    )


@pytest.mark.parametrize("stream", [False, True])
def test_not_found_rate_limit_bad_request(stream):
    expect_error(
        lambda: client().messages.create(model=MISSING, max_tokens=10, messages=HI, stream=stream, extra_headers=headers(f"404-{stream}")),
        anthropic.NotFoundError, 404, "not_found_error", f"404-{stream}",
    )
    err = expect_error(
        lambda: client(BUDGET_URL, "test").messages.create(model=BUDGET_MODEL, max_tokens=256, messages=HI, stream=stream, extra_headers=headers(f"429-{stream}")),
        anthropic.RateLimitError, 429, "rate_limit_error", f"429-{stream}",
    )
    assert err.response.headers.get("retry-after", "").isdigit()
    expect_error(
        lambda: client().messages.create(model=SIM, max_tokens=0, messages=HI, stream=stream, extra_headers=headers(f"400-{stream}")),
        anthropic.BadRequestError, 400, "invalid_request_error", f"400-{stream}",
    )


def test_missing_max_tokens_is_bad_request():
    """The typed method requires max_tokens, so the request goes out through the client's own
    `post` (same headers, same error mapping)."""
    err = expect_error(
        lambda: client().post(
            "/v1/messages",
            body={"model": SIM, "messages": HI},
            cast_to=anthropic.types.Message,
            options={"headers": headers("400-no-max")},
        ),
        anthropic.BadRequestError, 400, "invalid_request_error", "400-no-max",
    )
    assert "max_tokens" in err.body["error"]["message"]


def test_budget_serves_a_request_that_fits():
    m = client(BUDGET_URL, "test").messages.create(model=BUDGET_MODEL, max_tokens=16, messages=HI)
    assert text_of(m) == "You said: Hi"


def test_request_id_header():
    m = client().messages.create(model=SIM, max_tokens=10, messages=HI, extra_headers=headers("reqid"))
    with pytest.raises(anthropic.NotFoundError) as e:
        client().messages.create(model=MISSING, max_tokens=10, messages=HI, extra_headers=headers("reqid-err"))
    assert e.value.request_id == trace("reqid-err")
    assert m._request_id == trace("reqid")
