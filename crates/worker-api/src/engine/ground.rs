//! Grounding a request in a knowledge base (`knowledge` on `/chat` and `/ui/chat`, or a
//! preset named as `model`): retrieve sources for the last user message and put them, with
//! the preset's system prompt, before the conversation. Retrieval failures degrade to an
//! answer without sources unless the preset requires grounding.

use std::rc::Rc;

use gateway::conversation::{Conversation, Message, Role};
use gateway::log::KnowledgeLog;
use gateway::tenant::{resolve_preset, KnowledgeBase};
use knowledge::filter::MetadataFilter;
use knowledge::prompt::system_block;
use worker::{Context, Env};

use crate::clock::now_ms;
use crate::config::Settings;
use crate::exchange::{Exchange, Grounding};
use crate::http::error::ApiError;
use crate::knowledge::retrieve;

/// What a grounded request asks for: its knowledge base, and the preset's prompt and rule.
pub struct Target<'a> {
    kb: &'a KnowledgeBase,
    filter: Option<MetadataFilter>,
    system: Option<&'a str>,
    required: bool,
}

/// The grounding `conv` asks for (`knowledge`, or a preset named as its model, which then
/// becomes the preset's model); `None` when it asks for none. Runs before the model chain is
/// resolved, so the preset's model is what the allow-list judges.
pub fn target<'a>(
    settings: &'a Settings,
    conv: &mut Conversation,
) -> Result<Option<Target<'a>>, ApiError> {
    let tenant = &settings.tenant;
    let preset = resolve_preset(&tenant.presets, &tenant.knowledge, conv.model.as_deref());
    if let Some(p) = &preset {
        conv.model = Some(p.model.to_string());
    }
    let filter = conv.options.knowledge_filter.take();
    let kb = match (conv.options.knowledge.take(), &preset) {
        (Some(name), _) => tenant
            .knowledge
            .get(name.trim())
            .ok_or(ApiError::UnknownKnowledge { kb: name })?,
        (None, Some(p)) => p.knowledge,
        (None, None) if filter.is_some() => {
            return Err(ApiError::InvalidRequest {
                field: Some("knowledgeFilter".into()),
                message: "knowledgeFilter needs `knowledge` (or a preset as the model)".into(),
            })
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Target {
        kb,
        filter,
        system: preset.as_ref().and_then(|p| p.system),
        required: preset.as_ref().is_some_and(|p| p.required),
    }))
}

/// Retrieves sources for the last user message and puts them (after the preset's system
/// prompt) before the conversation.
pub async fn prepare(
    env: &Env,
    ctx: &Context,
    settings: &Rc<Settings>,
    ex: &mut Exchange,
    conv: &mut Conversation,
    target: Target<'_>,
) -> Result<Grounding, ApiError> {
    let Target {
        kb,
        filter,
        system,
        required,
    } = target;
    let question = conv
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .unwrap_or_default();
    let started = now_ms();
    let found = if question.trim().is_empty() {
        Ok((Vec::new(), None))
    } else {
        retrieve::sources(env, ctx, settings, ex, kb, filter.as_ref(), &question)
            .await
            .map(|(sources, tokens)| (sources, Some(tokens)))
    };
    let (sources, embedding, unavailable) = match found {
        Ok((s, tokens)) => (s, tokens, false),
        Err(e @ ApiError::KnowledgeUnavailable(_)) if !required => {
            ex.log.error_detail = e.log_detail();
            (Vec::new(), None, true)
        }
        Err(e) => return Err(e),
    };
    ex.log.knowledge = Some(KnowledgeLog {
        kb: kb.name.to_string(),
        sources: sources.len(),
        doc_ids: sources
            .iter()
            .map(|s| format!("{}#{}", s.doc_id, s.chunk))
            .collect(),
        retrieval_ms: now_ms().saturating_sub(started),
        unavailable,
        embedding,
    });
    let block = (!unavailable).then(|| system_block(&sources));
    let text: Vec<&str> = system.into_iter().chain(block.as_deref()).collect();
    if !text.is_empty() {
        add_system(conv, &text.join("\n\n"));
    }
    Ok(Grounding {
        kb: kb.name.to_string(),
        sources,
        unavailable,
    })
}

/// Adds `text` to the conversation's system prompt (after the client's, when it has one).
fn add_system(conv: &mut Conversation, text: &str) {
    match conv.messages.first_mut() {
        Some(first) if first.role == Role::System => {
            first.content = format!("{}\n\n{text}", first.content);
        }
        _ => conv.messages.insert(0, Message::text(Role::System, text)),
    }
}
