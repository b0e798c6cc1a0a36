//! File downloads: `GET /files/<appId>/<name>` serves the bytes with the content type of the
//! name's extension (no keys needed, as in Parse Server: file URLs are handed out to be
//! fetched by browsers), with single byte ranges; `GET /files/<appId>/metadata/<name>`.

use api::{ApiError, ParseRequest, ParseResponse, RawBody};
use axum::http::{header, StatusCode};
use bytes::Bytes;
use model::{code, ParseError};
use serde_json::json;

use crate::QueryApi;

fn text(status: StatusCode, message: &'static str) -> ParseResponse {
    ParseResponse::raw(
        status,
        RawBody {
            content_type: "text/plain; charset=utf-8".into(),
            data: Bytes::from_static(message.as_bytes()),
            headers: vec![],
        },
    )
}

/// The bytes a `Range: bytes=a-b` header asks for, as `(start, end inclusive)`; `Err` when it
/// cannot be satisfied. Several ranges are answered with the whole file (allowed by RFC 9110).
fn byte_range(range: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = range.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let wanted = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), Some(end)) if start <= end => Some((start, end.min(len.saturating_sub(1)))),
        (Some(start), None) if b.is_empty() => Some((start, len.saturating_sub(1))),
        (None, Some(suffix)) if a.is_empty() && suffix > 0 => {
            Some((len.saturating_sub(suffix), len.saturating_sub(1)))
        }
        _ => return None,
    };
    Some(match wanted {
        Some((start, end)) if start < len && start <= end => Ok((start, end)),
        _ => Err(()),
    })
}

impl QueryApi {
    fn is_app(req: &ParseRequest, app_id: &str) -> bool {
        app_id == req.ctx.app.app_id
    }

    pub(crate) async fn download(
        &self,
        req: &ParseRequest,
        app_id: &str,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        if !Self::is_app(req, app_id) {
            // Parse Server's answer: a Parse error body, but with 403.
            let e = ParseError::new(code::OPERATION_FORBIDDEN, "Invalid application ID.");
            return Ok(ParseResponse {
                status: StatusCode::FORBIDDEN,
                ..ParseResponse::ok(json!({"code": e.code, "error": e.error}))
            });
        }
        let data = match self.files.get(app_id, name).await {
            Ok(Some(d)) => d,
            Ok(None) | Err(files::FileError::InvalidName(_)) => {
                return Ok(text(StatusCode::NOT_FOUND, "File not found."))
            }
            Err(e) => return Err(ApiError::internal(e)),
        };
        let content_type = model::file::content_type_of(name);
        let len = data.len() as u64;
        let accept = (header::ACCEPT_RANGES, "bytes".to_string());
        match req.ctx.range.as_deref().and_then(|r| byte_range(r, len)) {
            None => Ok(ParseResponse::raw(
                StatusCode::OK,
                RawBody {
                    content_type,
                    data,
                    headers: vec![accept],
                },
            )),
            Some(Ok((start, end))) => Ok(ParseResponse::raw(
                StatusCode::PARTIAL_CONTENT,
                RawBody {
                    content_type,
                    data: data.slice(start as usize..=end as usize),
                    headers: vec![
                        accept,
                        (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
                    ],
                },
            )),
            Some(Err(())) => Ok(ParseResponse::raw(
                StatusCode::RANGE_NOT_SATISFIABLE,
                RawBody {
                    content_type,
                    data: Bytes::new(),
                    headers: vec![(header::CONTENT_RANGE, format!("bytes */{len}"))],
                },
            )),
        }
    }

    /// Parse Server's metadata endpoint answers `{}` when its adapter keeps none; Chronicle
    /// keeps no metadata beyond the bytes, and says what it knows: the size.
    pub(crate) async fn file_metadata(
        &self,
        req: &ParseRequest,
        app_id: &str,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        if !Self::is_app(req, app_id) {
            return Ok(ParseResponse::ok(json!({})));
        }
        Ok(ParseResponse::ok(
            match self.files.get(app_id, name).await {
                Ok(Some(d)) => {
                    json!({"size": d.len(), "contentType": model::file::content_type_of(name)})
                }
                _ => json!({}),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=50-500", 100), Some(Ok((50, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
        assert_eq!(byte_range("bytes=5-1", 100), None);
    }
}
