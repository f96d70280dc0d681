//! `SseDecoder`: a push parser that turns the AI's SSE bytes, split anywhere, into `AiEvent`s.
//!
//! It understands both Workers AI stream formats: the classic one
//! (`data: {"response":"tok","p":"..."}` ... `data: {"response":"","usage":{...}}`) and
//! OpenAI-style `chat.completion.chunk`s (`choices[].delta`). Bytes are buffered until a
//! whole line has arrived, so a chunk boundary in the middle of a line or of a UTF-8
//! sequence is harmless. A stream that ends before `data: [DONE]` is an error.

use serde_json::Value;

use crate::usage::Usage;

/// Longest line the decoder will buffer before giving up on the stream.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What one SSE event from the AI means to the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum AiEvent {
    /// A piece of the answer's text.
    Token(String),
    /// A piece of the model's reasoning (OpenAI `reasoning_content`); not part of the answer.
    Reasoning(String),
    /// A tool call, or a piece of one, exactly as the model sent it.
    ToolCall(Value),
    /// Token counts reported by the model; later reports refine earlier ones.
    Usage(Usage),
    /// `data: [DONE]`: the stream finished normally.
    Done,
}

/// Why a stream could not be decoded. Every variant keeps the raw text it choked on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed chunk from the model ({reason}): {raw}")]
    Malformed { raw: String, reason: String },
    #[error("the model sent bytes that are not UTF-8: {raw}")]
    InvalidUtf8 { raw: String },
    #[error("the model reported an error mid-stream: {message}")]
    Upstream { message: String },
    #[error("the model's stream ended before [DONE]")]
    Truncated,
    #[error("the model sent a line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
}

/// The push parser. Feed it bytes as they arrive; call `finish` when the stream ends.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    /// Data lines of the event being read, joined by `\n`.
    data: Option<String>,
    done: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `[DONE]` has been seen; later bytes are ignored.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes every complete line in `bytes` (plus what was buffered) into `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<AiEvent>) -> Result<(), DecodeError> {
        if self.done {
            return Ok(());
        }
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line = &self.buf[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = std::str::from_utf8(line)
                .map_err(|_| DecodeError::InvalidUtf8 {
                    raw: String::from_utf8_lossy(line).into_owned(),
                })?
                .to_owned();
            start = end + 1;
            self.line(&line, out)?;
            if self.done {
                self.buf.clear();
                return Ok(());
            }
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(DecodeError::LineTooLong);
        }
        Ok(())
    }

    /// Ends the stream: a pending event is dispatched, and a stream without `[DONE]` fails.
    pub fn finish(&mut self, out: &mut Vec<AiEvent>) -> Result<(), DecodeError> {
        if !self.done && !self.buf.is_empty() {
            self.feed(b"\n", out)?; // the last line had no line ending
        }
        if !self.done {
            self.dispatch(out)?;
        }
        if self.done {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }

    fn line(&mut self, line: &str, out: &mut Vec<AiEvent>) -> Result<(), DecodeError> {
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line.starts_with(':') {
            return Ok(()); // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
        // `event`, `id`, `retry` and unknown fields carry nothing Workers AI relies on.
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<AiEvent>) -> Result<(), DecodeError> {
        let Some(data) = self.data.take() else {
            return Ok(());
        };
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            out.push(AiEvent::Done);
            return Ok(());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| DecodeError::Malformed {
            raw: data.to_owned(),
            reason: e.to_string(),
        })?;
        chunk_events(&value, data, out)
    }
}

/// Turns one JSON chunk, of either format, into events.
fn chunk_events(value: &Value, raw: &str, out: &mut Vec<AiEvent>) -> Result<(), DecodeError> {
    let Some(obj) = value.as_object() else {
        return Err(DecodeError::Malformed {
            raw: raw.to_owned(),
            reason: "not a JSON object".into(),
        });
    };
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| err.to_string(), str::to_owned);
        return Err(DecodeError::Upstream { message });
    }
    if let Some(choices) = obj.get("choices").and_then(Value::as_array) {
        for delta in choices.iter().filter_map(|c| c.get("delta")) {
            push_text(delta.get("reasoning_content"), AiEvent::Reasoning, out);
            push_text(delta.get("content"), AiEvent::Token, out);
            push_tool_calls(delta.get("tool_calls"), out);
        }
    } else {
        match obj.get("response") {
            Some(Value::String(s)) => {
                push_text(Some(&Value::String(s.clone())), AiEvent::Token, out)
            }
            Some(Value::Null) | None => {}
            // JSON mode can stream a structured value; keep its text.
            Some(other) => out.push(AiEvent::Token(other.to_string())),
        }
        push_tool_calls(obj.get("tool_calls"), out);
    }
    if let Some(usage) = obj.get("usage").and_then(Usage::from_json) {
        out.push(AiEvent::Usage(usage));
    }
    Ok(())
}

fn push_text(v: Option<&Value>, make: fn(String) -> AiEvent, out: &mut Vec<AiEvent>) {
    if let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
        out.push(make(s.to_owned()));
    }
}

fn push_tool_calls(v: Option<&Value>, out: &mut Vec<AiEvent>) {
    if let Some(calls) = v.and_then(Value::as_array) {
        out.extend(calls.iter().cloned().map(AiEvent::ToolCall));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded classic Workers AI stream (llama-3.1-8b-instruct), padding shortened.
    const CLASSIC: &str = concat!(
        "data: {\"response\":\"Hel\",\"p\":\"abcdefgh\"}\n\n",
        "data: {\"response\":\"lo, \",\"p\":\"abcd\"}\n\n",
        "data: {\"response\":\"wörld 🌍\",\"p\":\"ab\"}\n\n",
        "data: {\"response\":\"\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n",
        "data: [DONE]\n\n",
    );

    /// A recorded OpenAI-style stream (gpt-oss on Workers AI), with reasoning and usage.
    const OPENAI: &str = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"think\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo, wörld 🌍\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n",
        "data: [DONE]\n\n",
    );

    fn usage(p: u64, c: u64, t: u64) -> AiEvent {
        AiEvent::Usage(Usage {
            prompt_tokens: Some(p),
            completion_tokens: Some(c),
            total_tokens: Some(t),
        })
    }

    fn tok(s: &str) -> AiEvent {
        AiEvent::Token(s.into())
    }

    /// Feeds `input` in pieces of `size` bytes (splitting lines and UTF-8 anywhere).
    fn decode_in_pieces(input: &[u8], size: usize) -> Result<Vec<AiEvent>, DecodeError> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(size) {
            d.feed(piece, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    fn texts(events: &[AiEvent]) -> String {
        events
            .iter()
            .filter_map(|e| {
                if let AiEvent::Token(t) = e {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn classic_format_every_split() {
        for size in 1..=CLASSIC.len() {
            let events = decode_in_pieces(CLASSIC.as_bytes(), size).unwrap();
            assert_eq!(texts(&events), "Hello, wörld 🌍", "split size {size}");
            assert_eq!(events.last(), Some(&AiEvent::Done));
            assert!(events.contains(&usage(12, 4, 16)));
        }
    }

    #[test]
    fn openai_format_every_split() {
        for size in 1..=OPENAI.len() {
            let events = decode_in_pieces(OPENAI.as_bytes(), size).unwrap();
            assert_eq!(texts(&events), "Hello, wörld 🌍", "split size {size}");
            assert_eq!(events[0], AiEvent::Reasoning("think".into()));
            assert!(events.contains(&usage(12, 4, 16)));
        }
    }

    fn check(input: &str, expected: Result<Vec<AiEvent>, DecodeError>) {
        assert_eq!(
            decode_in_pieces(input.as_bytes(), 7),
            expected,
            "input {input:?}"
        );
    }

    #[test]
    fn table() {
        // CRLF line endings, comments and unknown fields.
        check(": keep-alive\r\nevent: x\r\nid: 1\r\ndata: {\"response\":\"a\"}\r\n\r\ndata: [DONE]\r\n\r\n", Ok(vec![tok("a"), AiEvent::Done]));
        // A final [DONE] with no trailing newline still counts.
        check(
            "data: {\"response\":\"a\"}\n\ndata: [DONE]",
            Ok(vec![tok("a"), AiEvent::Done]),
        );
        // Bytes after [DONE] are ignored.
        check("data: [DONE]\n\ndata: {oops\n\n", Ok(vec![AiEvent::Done]));
        // Empty responses produce no token; `data:` without a space works.
        check(
            "data:{\"response\":\"\"}\n\ndata:[DONE]\n\n",
            Ok(vec![AiEvent::Done]),
        );
        // A stream that stops early is an error, never a success.
        check(
            "data: {\"response\":\"a\"}\n\n",
            Err(DecodeError::Truncated),
        );
        check("", Err(DecodeError::Truncated));
        // Malformed chunks keep their raw text.
        check(
            "data: {\"response\":\"a\"\n\n",
            Err(DecodeError::Malformed {
                raw: "{\"response\":\"a\"".into(),
                reason: "EOF while parsing an object at line 1 column 15".into(),
            }),
        );
        check(
            "data: 42\n\n",
            Err(DecodeError::Malformed {
                raw: "42".into(),
                reason: "not a JSON object".into(),
            }),
        );
        // An error object mid-stream.
        check(
            "data: {\"response\":\"a\"}\n\ndata: {\"error\":{\"message\":\"3040: capacity\"}}\n\n",
            Err(DecodeError::Upstream {
                message: "3040: capacity".into(),
            }),
        );
        // Tool calls in both formats.
        check(
            "data: {\"response\":\"\",\"tool_calls\":[{\"name\":\"f\"}]}\n\ndata: [DONE]\n\n",
            Ok(vec![
                AiEvent::ToolCall(serde_json::json!({"name":"f"})),
                AiEvent::Done,
            ]),
        );
        check("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\ndata: [DONE]\n\n",
            Ok(vec![AiEvent::ToolCall(serde_json::json!({"index":0})), AiEvent::Done]));
        // Usage with missing fields and null usage.
        check("data: {\"response\":\"\",\"usage\":{\"completion_tokens\":3}}\n\ndata: {\"choices\":[],\"usage\":null}\n\ndata: [DONE]\n\n",
            Ok(vec![AiEvent::Usage(Usage { prompt_tokens: None, completion_tokens: Some(3), total_tokens: None }), AiEvent::Done]));
        // Multi-line data joins with newlines (valid JSON across lines).
        check(
            "data: {\"response\":\ndata: \"x\"}\n\ndata: [DONE]\n\n",
            Ok(vec![tok("x"), AiEvent::Done]),
        );
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_bytes() {
        let mut d = SseDecoder::new();
        let err = d.feed(b"data: \xff\xfe\n", &mut Vec::new()).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidUtf8 { .. }));
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut d = SseDecoder::new();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(d.feed(&big, &mut Vec::new()), Err(DecodeError::LineTooLong));
    }

    #[test]
    fn tokens_come_out_as_soon_as_their_line_ends() {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        d.feed(b"data: {\"response\":\"a\"}\n", &mut out).unwrap();
        assert!(out.is_empty(), "an event ends at the blank line");
        d.feed(b"\n", &mut out).unwrap();
        assert_eq!(out, vec![tok("a")]);
    }
}
