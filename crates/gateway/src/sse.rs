//! `SseDecoder`: a push parser that turns SSE bytes, split anywhere, into `data` payloads.
//!
//! Bytes are buffered until a whole line has arrived, so a chunk boundary in the middle of a
//! line or of a UTF-8 sequence is harmless. `data: [DONE]` ends the stream; a stream that
//! ends before it is an error. What a payload means is the provider decoder's business
//! (`wire::workers_ai`). Errors never carry the payload itself (it is model output): only
//! its length and a short hash.

/// Longest line the decoder will buffer before giving up on the stream.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Why a stream could not be decoded. No variant holds model text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed chunk from the model ({reason}; {bytes} bytes, hash {hash})")]
    Malformed {
        reason: String,
        bytes: usize,
        hash: String,
    },
    #[error("the model sent bytes that are not UTF-8 ({bytes} bytes, hash {hash})")]
    InvalidUtf8 { bytes: usize, hash: String },
    #[error("the model reported an error: {message}")]
    Upstream { message: String },
    #[error("the model's stream ended before [DONE]")]
    Truncated,
    #[error("the model sent a line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
}

impl DecodeError {
    /// A malformed payload, described without its content.
    pub fn malformed(payload: &[u8], reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
            bytes: payload.len(),
            hash: short_hash(payload),
        }
    }

    /// A JSON syntax error, described by its category and position only (serde_json's own
    /// message can quote the input).
    pub fn json(payload: &[u8], e: &serde_json::Error) -> Self {
        let kind = match e.classify() {
            serde_json::error::Category::Eof => "unexpected end",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "invalid data",
            serde_json::error::Category::Io => "read error",
        };
        Self::malformed(payload, format!("{kind} at column {}", e.column()))
    }

    /// The provider's own error message, shortened (it is logged, never sent to clients).
    pub fn upstream(message: &str) -> Self {
        Self::Upstream {
            message: message.chars().take(200).collect(),
        }
    }
}

/// FNV-1a, 32 bits, as 8 hex digits: enough to tell two logged chunks apart.
pub fn short_hash(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    format!("{h:08x}")
}

/// What one complete SSE event carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseData {
    /// The joined `data:` lines of one event.
    Payload(String),
    /// `data: [DONE]`.
    Done,
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
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseData>) -> Result<(), DecodeError> {
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
                    bytes: line.len(),
                    hash: short_hash(line),
                })?
                .to_owned();
            start = end + 1;
            self.line(&line, out);
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
    pub fn finish(&mut self, out: &mut Vec<SseData>) -> Result<(), DecodeError> {
        if !self.done && !self.buf.is_empty() {
            self.feed(b"\n", out)?; // the last line had no line ending
        }
        if !self.done {
            self.dispatch(out);
        }
        if self.done {
            Ok(())
        } else {
            Err(DecodeError::Truncated)
        }
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseData>) {
        if line.is_empty() {
            return self.dispatch(out);
        }
        if line.starts_with(':') {
            return; // comment / keep-alive
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
        // `event`, `id`, `retry` and unknown fields carry nothing the providers rely on.
    }

    fn dispatch(&mut self, out: &mut Vec<SseData>) {
        let Some(data) = self.data.take() else {
            return;
        };
        let trimmed = data.trim();
        if trimmed.is_empty() {
            return;
        }
        if trimmed == "[DONE]" {
            self.done = true;
            out.push(SseData::Done);
            return;
        }
        out.push(SseData::Payload(data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], size: usize) -> Result<Vec<SseData>, DecodeError> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(size) {
            d.feed(piece, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    fn p(s: &str) -> SseData {
        SseData::Payload(s.into())
    }

    fn check(input: &str, expected: Result<Vec<SseData>, DecodeError>) {
        for size in [1, 3, 7, input.len().max(1)] {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), size),
                expected,
                "input {input:?} split {size}"
            );
        }
    }

    #[test]
    fn table() {
        // CRLF line endings, comments and unknown fields.
        check(
            ": keep-alive\r\nevent: x\r\nid: 1\r\ndata: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n",
            Ok(vec![p("{\"a\":1}"), SseData::Done]),
        );
        // A final [DONE] with no trailing newline still counts.
        check("data: x\n\ndata: [DONE]", Ok(vec![p("x"), SseData::Done]));
        // Bytes after [DONE] are ignored.
        check("data: [DONE]\n\ndata: {oops\n\n", Ok(vec![SseData::Done]));
        // `data:` without a space; empty data is skipped.
        check(
            "data:\n\ndata:x\n\ndata:[DONE]\n\n",
            Ok(vec![p("x"), SseData::Done]),
        );
        // Multi-line data joins with newlines; UTF-8 split anywhere survives.
        check(
            "data: w\ndata: örld 🌍\n\ndata: [DONE]\n\n",
            Ok(vec![p("w\nörld 🌍"), SseData::Done]),
        );
        // A stream that stops early is an error, never a success.
        check("data: a\n\n", Err(DecodeError::Truncated));
        check("", Err(DecodeError::Truncated));
    }

    #[test]
    fn invalid_utf8_is_reported_without_its_bytes() {
        let mut d = SseDecoder::new();
        let err = d.feed(b"data: \xff\xfe\n", &mut Vec::new()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidUtf8 {
                bytes: 8,
                hash: short_hash(b"data: \xff\xfe")
            }
        );
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut d = SseDecoder::new();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(d.feed(&big, &mut Vec::new()), Err(DecodeError::LineTooLong));
    }

    #[test]
    fn errors_never_quote_the_payload() {
        let secret = br#"{"response": "the secret answer"#;
        let e = serde_json::from_slice::<serde_json::Value>(secret).unwrap_err();
        let text = DecodeError::json(secret, &e).to_string();
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.starts_with("malformed chunk from the model (unexpected end at column"),
            "{text}"
        );
        let lone = br#"{"response":"\ud800"}"#;
        let e = serde_json::from_slice::<serde_json::Value>(lone).unwrap_err();
        assert!(!DecodeError::json(lone, &e).to_string().contains("response"));
        assert_eq!(short_hash(b""), "811c9dc5");
        assert_ne!(short_hash(b"a"), short_hash(b"b"));
    }
}
