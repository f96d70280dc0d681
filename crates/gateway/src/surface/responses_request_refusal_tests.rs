//! Refusals of the Responses request parser: each unsupported or invalid field with its exact error.

use super::*;

#[test]
fn unsupported_parameters_are_named() {
    check_err(
        &with(r#""conversation":"conv_1""#),
        ("unsupported_parameter", "conversation", "conversation: unknown field `conversation`, expected one of `model`, `input`, `instructions`, `tools`, `tool_choice`, `text`, `max_output_tokens`, `temperature`, `top_p`, `parallel_tool_calls`, `stream`, `stream_options`, `user`, `safety_identifier`, `metadata`, `store`, `service_tier`, `prompt_cache_key`, `prompt_cache_retention`, `truncation`, `include`, `reasoning`, `previous_response_id`, `background`"),
    );
    check_err(
        &with(r#""background":true"#),
        (
            "unsupported_parameter",
            "background",
            "background: background responses are not supported",
        ),
    );
    check_err(
        &with(r#""tools":[{"type":"function","name":"f"},{"type":"web_search"}]"#),
        (
            "unsupported_parameter",
            "tools[1].type",
            "tools[1].type: `web_search` tools are not supported; only `function` tools are",
        ),
    );
    check_err(
        &with(r#""tools":[{"type":"function","name":"f","defer_loading":true}]"#),
        (
            "unsupported_parameter",
            "tools[0].defer_loading",
            "tools[0].defer_loading: unknown field `defer_loading`, expected one of `type`, `name`, `description`, `parameters`, `strict`",
        ),
    );
    check_err(
        &with(r#""tool_choice":{"type":"file_search"}"#),
        ("unsupported_parameter", "tool_choice.type", "tool_choice.type: `file_search` is not supported; choose `none`, `auto`, `required` or a function"),
    );
    check_err(
        &with(r#""tool_choice":{"type":"function","name":"f","x":1}"#),
        (
            "unsupported_parameter",
            "tool_choice.x",
            "tool_choice.x: unknown field `x`, expected `type` or `name`",
        ),
    );
    check_err(
        &with(r#""text":{"verbosity":"low"}"#),
        (
            "unsupported_parameter",
            "text.verbosity",
            "text.verbosity: is not supported",
        ),
    );
    check_err(
        &with(r#""text":{"style":1}"#),
        (
            "unsupported_parameter",
            "text.style",
            "text.style: unknown field `style`, expected `format` or `verbosity`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"text","name":"x"}}"#),
        (
            "unsupported_parameter",
            "text.format.name",
            "text.format.name: unknown field `name`, expected `type`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"json_object","schema":{}}}"#),
        (
            "unsupported_parameter",
            "text.format.schema",
            "text.format.schema: unknown field `schema`, expected `type`",
        ),
    );
    check_err(
        &with(r#""text":{"format":{"type":"json_schema","name":"n","schema":{},"x":1}}"#),
        ("unsupported_parameter", "text.format.x", "text.format.x: unknown field `x`, expected one of `type`, `name`, `schema`, `description`, `strict`"),
    );
    check_err(
        &items(r#"[{"role":"user","content":"q","foo":1}]"#),
        ("unsupported_parameter", "input[0].foo", "input[0].foo: unknown field `foo`, expected one of `type`, `role`, `content`, `id`, `status`, `phase`"),
    );
    check_err(
        &items(r#"[{"type":"function_call","call_id":"c","name":"f","arguments":"{}","x":1}]"#),
        ("unsupported_parameter", "input[0].x", "input[0].x: unknown field `x`, expected one of `type`, `call_id`, `name`, `arguments`, `id`, `status`, `namespace`, `parsed_arguments`"),
    );
    check_err(
        &items(r#"[{"type":"function_call_output","call_id":"c","output":"o","x":1}]"#),
        ("unsupported_parameter", "input[0].x", "input[0].x: unknown field `x`, expected one of `type`, `call_id`, `output`, `id`, `status`"),
    );
}

#[test]
fn unsupported_content_is_named() {
    for kind in ["input_image", "input_file", "input_audio"] {
        check_err(
            &items(&format!(
                r#"[{{"role":"user","content":[{{"type":"input_text","text":"a"}},{{"type":"{kind}"}}]}}]"#
            )),
            (
                "unsupported_content",
                "input[0].content[1]",
                &format!("input[0].content[1]: `{kind}` parts are not supported yet; send text"),
            ),
        );
    }
    check_err(
        &items(
            r#"[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","detail":"auto"}]}]"#,
        ),
        (
            "unsupported_content",
            "input[0].output[0]",
            "input[0].output[0]: `input_image` parts are not supported yet; send text",
        ),
    );
    check_err(
        &items(r#"[{"role":"user","content":"q"},{"type":"item_reference","id":"msg_1"}]"#),
        ("unsupported_content", "input[1]", "input[1]: `item_reference` items are not supported; send messages, function calls and their outputs"),
    );
    check_err(
        &items(r#"[{"type":"web_search_call","id":"ws"}]"#),
        ("unsupported_content", "input[0]", "input[0]: `web_search_call` items are not supported; send messages, function calls and their outputs"),
    );
}

#[test]
fn bad_values_are_invalid_requests() {
    let table: &[(&str, (&str, &str, &str))] = &[
        (r#"{"model":"x"}"#, ("invalid_request", "input", "input: is required")),
        (r#"{"input":" "}"#, ("invalid_request", "input", "input: must not be empty")),
        (r#"{"input":[]}"#, ("invalid_request", "input", "input: must not be empty")),
        (r#"{"input":5}"#, ("invalid_request", "input", "input: invalid type: integer `5`, expected a string or a sequence")),
        (r#"{"input":["hi"]}"#, ("invalid_request", "input[0]", "input[0]: invalid type: string \"hi\", expected a map")),
        (r#"{"input":[{"role":"tool","content":"x"}]}"#, ("invalid_request", "input[0].role", "input[0].role: `tool` is not one of `user`, `assistant`, `system`, `developer`")),
        (r#"{"input":[{"content":"x"}]}"#, ("invalid_request", "input[0].role", "input[0].role: is required")),
        (r#"{"input":[{"role":"user"}]}"#, ("invalid_request", "input[0].content", "input[0].content: is required")),
        (r#"{"input":[{"role":"user","content":{}}]}"#, ("invalid_request", "input[0].content", "input[0].content: invalid type: map, expected a string or a sequence")),
        (r#"{"input":[{"role":"user","content":[{"type":"text","text":"x"}]}]}"#, ("invalid_request", "input[0].content[0].type", "input[0].content[0].type: `text` is not one of `input_text`, `output_text`, `refusal`, `input_image`, `input_file`, `input_audio`")),
        (r#"{"input":[{"role":"user","content":[{"type":"input_text"}]}]}"#, ("invalid_request", "input[0].content[0].text", "input[0].content[0].text: is required")),
        (r#"{"input":[{"role":"user","content":[{"text":"x"}]}]}"#, ("invalid_request", "input[0].content[0].type", "input[0].content[0].type: is required")),
        (r#"{"input":[{"role":"user","content":[1]}]}"#, ("invalid_request", "input[0].content[0]", "input[0].content[0]: invalid type: integer `1`, expected a map")),
        (r#"{"input":[{"role":"assistant","content":[{"type":"refusal"}]}]}"#, ("invalid_request", "input[0].content[0].refusal", "input[0].content[0].refusal: is required")),
        (r#"{"input":[{"type":"function_call","name":"f","arguments":"{}"}]}"#, ("invalid_request", "input[0].call_id", "input[0].call_id: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}"#, ("invalid_request", "input[0].name", "input[0].name: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","name":"f"}]}"#, ("invalid_request", "input[0].arguments", "input[0].arguments: is required")),
        (r#"{"input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}"#, ("invalid_request", "input[0].arguments", "input[0].arguments: invalid type: map, expected a string")),
        (r#"{"input":[{"type":"function_call_output","output":"x"}]}"#, ("invalid_request", "input[0].call_id", "input[0].call_id: is required")),
        (r#"{"input":[{"type":"function_call_output","call_id":"c"}]}"#, ("invalid_request", "input[0].output", "input[0].output: is required")),
        (r#"{"input":[{"type":7}]}"#, ("invalid_request", "input[0].type", "input[0].type: invalid type: integer `7`, expected a string")),
        (r#"{"input":"hi","model":"a b"}"#, ("invalid_request", "model", "model: `a b` is not a model id (printable ASCII, no spaces, <= 200 chars)")),
        (r#"{"input":"hi","max_output_tokens":0}"#, ("invalid_request", "max_output_tokens", "max_output_tokens: must be between 1 and 1000000")),
        (r#"{"input":"hi","max_output_tokens":1000001}"#, ("invalid_request", "max_output_tokens", "max_output_tokens: must be between 1 and 1000000")),
        (r#"{"input":"hi","temperature":2.1}"#, ("invalid_request", "temperature", "temperature: must be between 0 and 2")),
        (r#"{"input":"hi","temperature":-1}"#, ("invalid_request", "temperature", "temperature: must be between 0 and 2")),
        (r#"{"input":"hi","top_p":1.5}"#, ("invalid_request", "top_p", "top_p: must be between 0 and 1")),
        (r#"{"input":"hi","truncation":"middle"}"#, ("invalid_request", "truncation", "truncation: must be `auto` or `disabled`")),
        (r#"{"input":"hi","include":[1]}"#, ("invalid_request", "include[0]", "include[0]: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","reasoning":"high"}"#, ("invalid_request", "reasoning", "reasoning: invalid type: string \"high\", expected a map")),
        (r#"{"input":"hi","stream_options":true}"#, ("invalid_request", "stream_options", "stream_options: invalid type: boolean `true`, expected a map")),
        (r#"{"input":"hi","service_tier":1}"#, ("invalid_request", "service_tier", "service_tier: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","prompt_cache_key":1}"#, ("invalid_request", "prompt_cache_key", "prompt_cache_key: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","prompt_cache_retention":1}"#, ("invalid_request", "prompt_cache_retention", "prompt_cache_retention: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","store":"yes"}"#, ("invalid_request", "store", "store: invalid type: string \"yes\", expected a boolean")),
        (r#"{"input":"hi","stream":1}"#, ("invalid_request", "stream", "stream: invalid type: integer `1`, expected a boolean")),
        (r#"{"input":"hi","previous_response_id":1}"#, ("invalid_request", "previous_response_id", "previous_response_id: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","parallel_tool_calls":"no"}"#, ("invalid_request", "parallel_tool_calls", "parallel_tool_calls: invalid type: string \"no\", expected a boolean")),
        (r#"{"input":"hi","instructions":1}"#, ("invalid_request", "instructions", "instructions: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","tool_choice":"sometimes"}"#, ("invalid_request", "tool_choice", "tool_choice: must be `none`, `auto`, `required` or an object")),
        (r#"{"input":"hi","tool_choice":1}"#, ("invalid_request", "tool_choice", "tool_choice: must be `none`, `auto`, `required` or an object")),
        (r#"{"input":"hi","tool_choice":{"type":"function"}}"#, ("invalid_request", "tool_choice.name", "tool_choice.name: is required")),
        (r#"{"input":"hi","tool_choice":{}}"#, ("invalid_request", "tool_choice.type", "tool_choice.type: is required")),
        (r#"{"input":"hi","tools":{}}"#, ("invalid_request", "tools", "tools: invalid type: map, expected a sequence")),
        (r#"{"input":"hi","tools":[1]}"#, ("invalid_request", "tools[0]", "tools[0]: invalid type: integer `1`, expected a map")),
        (r#"{"input":"hi","tools":[{"name":"f"}]}"#, ("invalid_request", "tools[0].type", "tools[0].type: is required")),
        (r#"{"input":"hi","tools":[{"type":"function"}]}"#, ("invalid_request", "tools[0].name", "tools[0].name: is required")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","description":1}]}"#, ("invalid_request", "tools[0].description", "tools[0].description: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","parameters":[]}]}"#, ("invalid_request", "tools[0].parameters", "tools[0].parameters: invalid type: sequence, expected a map")),
        (r#"{"input":"hi","tools":[{"type":"function","name":"f","strict":"y"}]}"#, ("invalid_request", "tools[0].strict", "tools[0].strict: invalid type: string \"y\", expected a boolean")),
        (r#"{"input":"hi","text":"json"}"#, ("invalid_request", "text", "text: invalid type: string \"json\", expected a map")),
        (r#"{"input":"hi","text":{"format":{"type":"xml"}}}"#, ("invalid_request", "text.format.type", "text.format.type: must be one of `text`, `json_object`, `json_schema`")),
        (r#"{"input":"hi","text":{"format":{}}}"#, ("invalid_request", "text.format.type", "text.format.type: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}"#, ("invalid_request", "text.format.name", "text.format.name: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n"}}}"#, ("invalid_request", "text.format.schema", "text.format.schema: is required")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n","schema":{},"strict":1}}}"#, ("invalid_request", "text.format.strict", "text.format.strict: invalid type: integer `1`, expected a boolean")),
        (r#"{"input":"hi","text":{"format":{"type":"json_schema","name":"n","schema":{},"description":1}}}"#, ("invalid_request", "text.format.description", "text.format.description: invalid type: integer `1`, expected a string")),
        (r#"{"input":"hi","metadata":[]}"#, ("invalid_request", "metadata", "metadata: invalid type: sequence, expected a map")),
        (r#"{"input":"hi","metadata":{"k":1}}"#, ("invalid_request", "metadata.k", "metadata.k: invalid type: integer `1`, expected a string")),
        ("[1]", ("invalid_request", "", "body must be a JSON object")),
        ("{", ("invalid_json", "", "body is not valid JSON: EOF while parsing an object at line 1 column 1")),
    ];
    for (body, expected) in table {
        check_err(body, *expected);
    }
}
