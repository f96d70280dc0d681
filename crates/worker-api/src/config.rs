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

#[cfg(all(test, target_arch = "wasm32"))]
#[allow(clippy::unwrap_used, clippy::panic)] // wasm_bindgen_test fns are tests, which clippy cannot see
mod tests {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    const TENANT: &str = r#"{"tenantId":"acme","aiGatewayId":"gw","models":{"chat":"@cf/a","tiers":{"fast":"@cf/b"}},"modelAllowList":["@cf/a","@cf/b"]}"#;

    fn env(pairs: &[(&str, JsValue)]) -> Env {
        let o = js_sys::Object::new();
        for (k, v) in pairs {
            js_sys::Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
        }
        o.unchecked_into()
    }

    #[wasm_bindgen_test]
    fn tenant_as_object_or_json_string() {
        let object = js_sys::JSON::parse(TENANT).unwrap();
        assert_eq!(
            load(&env(&[("TENANT", object)]))
                .unwrap()
                .tenant
                .tenant_id
                .as_str(),
            "acme"
        );
        let s = load(&env(&[
            ("TENANT", TENANT.into()),
            ("MODEL_ID", "fast".into()),
        ]))
        .unwrap();
        assert_eq!(s.env_model.as_deref(), Some("fast"));
    }

    #[wasm_bindgen_test]
    fn missing_or_broken_config_names_the_problem() {
        assert_eq!(
            load(&env(&[])).unwrap_err().to_string(),
            "TENANT: the TENANT var is missing: set [vars.TENANT] in wrangler.toml"
        );
        let broken = TENANT.replace("\"gw\"", "\"\"");
        assert_eq!(
            load(&env(&[("TENANT", broken.into())]))
                .unwrap_err()
                .to_string(),
            "TENANT: aiGatewayId: must not be empty"
        );
        let err = load(&env(&[
            ("TENANT", TENANT.into()),
            ("MODEL_ID", "@cf/z".into()),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "MODEL_ID: model `@cf/z` is not allowed for this tenant"
        );
    }
}
