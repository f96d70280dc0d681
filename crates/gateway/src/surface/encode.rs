//! What the event-stream encoders (UI, Responses, Anthropic) share: SSE framing, tool calls announced once named, arguments read as JSON.

use serde::Serialize;
use serde_json::Value;

use super::write_json;
use crate::events::ToolCallDelta;

/// One SSE event with a name: `event: <name>\ndata: <json>\n\n`.
pub(crate) fn frame(out: &mut Vec<u8>, name: &str, data: &impl Serialize) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    write_json(out, data);
    out.extend_from_slice(b"\n\n");
}

/// One SSE event without a name: `data: <json>\n\n`.
pub(crate) fn data_line(out: &mut Vec<u8>, data: &impl Serialize) {
    out.extend_from_slice(b"data: ");
    write_json(out, data);
    out.extend_from_slice(b"\n\n");
}

/// A tool call's arguments as JSON: `{}` when empty, the parsed value, or (when the model
/// wrote something that does not parse, or was cut off) the text itself as a JSON string.
pub(crate) fn arguments_json(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// Indexes at or past this are ignored, as `ToolCallDelta::apply_to` does.
const MAX_CALL_INDEX: u32 = 1024;

/// One tool call as a stream encoder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamCall {
    /// The model's index for the call (parallel calls differ).
    pub index: u32,
    /// The id the client sees: the model's, or `call_<index>`; fixed once announced.
    pub id: String,
    pub name: String,
    pub arguments: String,
    /// The encoder's number for the call (output index, block index) once announced.
    pub slot: Option<usize>,
}

/// What a tool-call delta asks of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallStep {
    /// Nothing yet: the call has no name to announce it by.
    Pending,
    /// The call (at this position) now has a name: announce it, then send every argument
    /// so far.
    Announce(usize),
    /// The call (at this position) was announced: send this delta's arguments.
    Append(usize),
}

/// Tool calls of a stream, grouped by index. A call is announced (a client-side part or block
/// is opened for it) once its name is known, because clients key the part on the name.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamCalls {
    pub calls: Vec<StreamCall>,
}

impl StreamCalls {
    pub fn apply(&mut self, d: &ToolCallDelta) -> CallStep {
        if d.index >= MAX_CALL_INDEX {
            return CallStep::Pending;
        }
        let pos = match self.calls.iter().position(|c| c.index == d.index) {
            Some(p) => p,
            None => {
                self.calls.push(StreamCall {
                    index: d.index,
                    id: format!("call_{}", d.index),
                    name: String::new(),
                    arguments: String::new(),
                    slot: None,
                });
                self.calls.len() - 1
            }
        };
        let c = &mut self.calls[pos];
        if let (Some(id), None) = (&d.id, c.slot) {
            c.id.clone_from(id);
        }
        if let Some(name) = &d.name {
            c.name.push_str(name);
        }
        c.arguments.push_str(&d.arguments);
        if c.slot.is_some() {
            CallStep::Append(pos)
        } else if c.name.is_empty() {
            CallStep::Pending
        } else {
            CallStep::Announce(pos)
        }
    }

    /// Positions of the calls in index order.
    pub fn by_index(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.calls.len()).collect();
        order.sort_by_key(|&p| self.calls[p].index);
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> ToolCallDelta {
        ToolCallDelta {
            index,
            id: id.map(Into::into),
            name: name.map(Into::into),
            arguments: args.into(),
        }
    }

    #[test]
    fn arguments_parse_or_stay_text() {
        let check = |s: &str, v: Value| assert_eq!(arguments_json(s), v, "{s:?}");
        check("", json!({}));
        check("  ", json!({}));
        check("{\"a\":1}", json!({"a":1}));
        check("[1]", json!([1]));
        check("{\"a\":", json!("{\"a\":"));
    }

    #[test]
    fn frames() {
        let mut out = Vec::new();
        frame(&mut out, "ping", &json!({"type":"ping"}));
        data_line(&mut out, &json!({"a":"b"}));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "event: ping\ndata: {\"type\":\"ping\"}\n\ndata: {\"a\":\"b\"}\n\n"
        );
    }

    #[test]
    fn a_call_is_announced_once_it_has_a_name_and_its_id_is_fixed_then() {
        let mut s = StreamCalls::default();
        assert_eq!(s.apply(&d(1, None, None, "{\"a\"")), CallStep::Pending);
        assert_eq!(
            s.apply(&d(1, Some("c1"), Some("f"), ":1")),
            CallStep::Announce(0)
        );
        s.calls[0].slot = Some(7);
        assert_eq!(
            s.apply(&d(1, Some("other"), Some("g"), "}")),
            CallStep::Append(0)
        );
        assert_eq!(
            s.calls[0],
            StreamCall {
                index: 1,
                id: "c1".into(),
                name: "fg".into(),
                arguments: "{\"a\":1}".into(),
                slot: Some(7),
            }
        );
        assert_eq!(s.apply(&d(0, None, Some("h"), "")), CallStep::Announce(1));
        assert_eq!(s.calls[1].id, "call_0");
        assert_eq!(s.by_index(), vec![1, 0]);
        assert_eq!(
            s.apply(&d(1024, Some("x"), Some("x"), "")),
            CallStep::Pending
        );
        assert_eq!(
            s.apply(&d(1023, Some("x"), Some("x"), "")),
            CallStep::Announce(2)
        );
        assert_eq!(s.calls.len(), 3);
    }
}
