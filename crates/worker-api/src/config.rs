//! Loads the tenant config from the `TENANT` var once per isolate, with the `MODEL_ID` override.

use std::cell::OnceCell;
use std::rc::Rc;

use gateway::tenant::TenantConfig;
use gateway::ConfigError;
use wasm_bindgen::JsValue;
use worker::Env;

/// The worker's checked settings.
#[derive(Debug)]
pub struct Settings {
    pub tenant: TenantConfig,
    /// The `MODEL_ID` var, when set and non-empty.
    pub env_model: Option<String>,
}

thread_local! {
    static SETTINGS: OnceCell<Result<Rc<Settings>, ConfigError>> = const { OnceCell::new() };
}

/// The settings of this isolate, parsed and checked on first use.
pub fn settings(env: &Env) -> Result<Rc<Settings>, ConfigError> {
    SETTINGS.with(|cell| cell.get_or_init(|| load(env).map(Rc::new)).clone())
}

fn load(env: &Env) -> Result<Settings, ConfigError> {
    let source = "TENANT";
    let raw = js_sys::Reflect::get(env, &JsValue::from_str(source)).unwrap_or(JsValue::UNDEFINED);
    let json = if let Some(s) = raw.as_string() {
        s
    } else if raw.is_object() {
        js_sys::JSON::stringify(&raw)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    } else {
        return Err(ConfigError::new(
            source,
            "",
            "the TENANT var is missing: set [vars.TENANT] in wrangler.toml",
        ));
    };
    let tenant = TenantConfig::from_json(source, &json)?;
    let env_model = env
        .var("MODEL_ID")
        .ok()
        .map(|v| v.to_string())
        .filter(|s| !s.trim().is_empty());
    // The override must itself be allowed, or every request would be refused.
    gateway::model::resolve_model(None, env_model.as_deref(), &tenant)
        .map_err(|e| ConfigError::new("MODEL_ID", "", e.to_string()))?;
    Ok(Settings { tenant, env_model })
}
