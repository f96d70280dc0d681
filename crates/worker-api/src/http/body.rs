//! Reading a request body: content type, size limit, and telling a client abort from a fault.

use crate::http::incoming::Request;

use crate::http::error::ApiError;

/// The media type of a `content-type` value, lowercased, without its parameters.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads the body after checking its content type and size against the tenant's limit. A
/// body the client stopped sending is `ClientClosed` (logged as 499), not a server error.
pub async fn read_json_body(req: &mut Request, limit: u32) -> Result<Vec<u8>, ApiError> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    if media_type(&content_type) != "application/json" {
        return Err(ApiError::UnsupportedMediaType { got: content_type });
    }
    read_limited(req, limit).await
}

/// Reads the body, refusing one past `limit` bytes (as declared, then as read) with
/// `PayloadTooLarge`; a body the client stopped sending is `ClientClosed`.
pub async fn read_limited(req: &mut Request, limit: u32) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > u64::from(limit)) {
        return Err(ApiError::PayloadTooLarge { size, limit });
    }
    let body = req.bytes().await.map_err(ApiError::ClientClosed)?;
    if body.len() as u64 > u64::from(limit) {
        return Err(ApiError::PayloadTooLarge {
            size: body.len() as u64,
            limit,
        });
    }
    Ok(body)
}
