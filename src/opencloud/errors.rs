//! The error bodies of the three API families: DataStore v1 and messaging
//! v1 (`{"error", "message", "errorDetails"}`), v2 and the session API
//! (`{"code", "message", "details"}`) and the gateway in front of them
//! (authentication and unknown routes: `{"errors": [{"code": 0, "message"}]}`).
//!
//! Owns: [`V1Error`], [`V2Error`], [`GatewayError`] and [`AnyError`] (what
//! a client reads). Invariant: the field order is the wire's; each type
//! both writes (server) and reads (client).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codes::{DetailCode, ErrorCode};

/// The v1 error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1Error {
    /// The status name.
    pub error: ErrorCode,
    /// What went wrong.
    pub message: String,
    /// One [`V1ErrorDetail`].
    #[serde(default)]
    pub error_details: Vec<V1ErrorDetail>,
}

/// `errorDetails[i]` of a v1 error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct V1ErrorDetail {
    /// Always `DatastoreErrorInfo`.
    pub error_detail_type: String,
    /// The precise code.
    pub datastore_error_code: DetailCode,
}

impl V1Error {
    /// The body of an error with `code`, `detail` and `message`.
    pub fn new(code: ErrorCode, detail: DetailCode, message: impl Into<String>) -> Self {
        V1Error {
            error: code,
            message: message.into(),
            error_details: vec![V1ErrorDetail {
                error_detail_type: "DatastoreErrorInfo".to_owned(),
                datastore_error_code: detail,
            }],
        }
    }

    /// The first detail code (`Unknown` when there is none).
    pub fn detail(&self) -> DetailCode {
        self.error_details
            .first()
            .map_or(DetailCode::Unknown, |d| d.datastore_error_code)
    }
}

/// The v2 (and session API) error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct V2Error {
    /// The status name.
    pub code: ErrorCode,
    /// `ALREADY_EXISTS` on a create conflict (memory store sorted maps:
    /// rblx-open-cloud reads this field), absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What went wrong.
    pub message: String,
    /// Always empty here.
    #[serde(default)]
    pub details: Vec<Value>,
}

/// The gateway's error body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayError {
    /// One entry.
    pub errors: Vec<GatewayErrorItem>,
}

/// `errors[i]` of a gateway error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GatewayErrorItem {
    /// Always 0.
    pub code: i64,
    /// What went wrong.
    pub message: String,
}

impl GatewayError {
    /// The body saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        GatewayError {
            errors: vec![GatewayErrorItem {
                code: 0,
                message: message.into(),
            }],
        }
    }
}

/// Any of the three error bodies, as a client reads an error answer.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AnyError {
    /// DataStore v1 and messaging v1.
    V1(V1Error),
    /// v2 and the session API.
    V2(V2Error),
    /// Authentication and unknown routes.
    Gateway(GatewayError),
}

impl AnyError {
    /// The error body in `body`, or `None` when it is none of the shapes
    /// (a proxy's page, an unknown status name).
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        match self {
            AnyError::V1(e) => &e.message,
            AnyError::V2(e) => &e.message,
            AnyError::Gateway(e) => e.errors.first().map_or("", |i| i.message.as_str()),
        }
    }

    /// The status name (none in a gateway body).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            AnyError::V1(e) => Some(e.error),
            AnyError::V2(e) => Some(e.code),
            AnyError::Gateway(_) => None,
        }
    }

    /// v1's detail code (only v1 bodies carry one).
    pub fn detail(&self) -> Option<DetailCode> {
        match self {
            AnyError::V1(e) => Some(e.detail()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shape_reads_back_as_what_was_written() {
        let v1 = V1Error::new(ErrorCode::NotFound, DetailCode::EntryNotFound, "gone");
        let text = serde_json::to_string(&v1).unwrap();
        assert_eq!(
            text,
            r#"{"error":"NOT_FOUND","message":"gone","errorDetails":[{"errorDetailType":"DatastoreErrorInfo","datastoreErrorCode":"EntryNotFound"}]}"#
        );
        let read = AnyError::parse(text.as_bytes()).unwrap();
        assert_eq!(read.detail(), Some(DetailCode::EntryNotFound));
        assert_eq!(read.code(), Some(ErrorCode::NotFound));
        let v2 = V2Error {
            code: ErrorCode::Aborted,
            error: None,
            message: "stale".into(),
            details: Vec::new(),
        };
        let text = serde_json::to_string(&v2).unwrap();
        assert_eq!(text, r#"{"code":"ABORTED","message":"stale","details":[]}"#);
        assert_eq!(AnyError::parse(text.as_bytes()), Some(AnyError::V2(v2)));
        let g = GatewayError::new("Invalid API Key");
        let text = serde_json::to_string(&g).unwrap();
        assert_eq!(
            text,
            r#"{"errors":[{"code":0,"message":"Invalid API Key"}]}"#
        );
        let read = AnyError::parse(text.as_bytes()).unwrap();
        assert_eq!((read.message(), read.code()), ("Invalid API Key", None));
        assert_eq!(AnyError::parse(b"<html>"), None);
    }
}
