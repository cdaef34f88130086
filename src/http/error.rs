//! The one place HTTP statuses and error bodies are decided.
//!
//! Owns: [`ApiError`] and the mapping of every internal error
//! (`DataStoreError`, `BusError`, request problems) to a status, Open
//! Cloud's error names, and a body in the v1, v2 or gateway shape.
//! Invariant: no handler picks a status for an error itself.

use hyper::StatusCode;
use serde_json::{json, Value};

use crate::bus::BusError;
use crate::datastore::DataStoreError;
use crate::plugin_api::StorageError;

/// Which Open Cloud error body to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `{"error", "message", "errorDetails": [{"datastoreErrorCode"}]}`.
    V1,
    /// `{"code", "message", "details"}`.
    V2,
    /// `{"errors": [{"code": 0, "message"}]}` (auth and routing).
    Gateway,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Open Cloud's error code name (`INVALID_ARGUMENT`, `NOT_FOUND`...).
    pub code: &'static str,
    /// v1's `datastoreErrorCode`.
    pub detail: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// A 400 with a v1 detail code.
    pub fn bad_request(detail: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_ARGUMENT",
            detail,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(detail: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            detail,
            message: message.into(),
        }
    }

    /// A 401 (missing or wrong API key).
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "UNAUTHENTICATED",
            detail: "Forbidden",
            message: "Invalid API Key".to_owned(),
        }
    }

    /// A 405: the path exists, but not with this method.
    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "INVALID_ARGUMENT",
            detail: "Unknown",
            message: format!("{method} is not allowed here; use {}", allowed.join(" or ")),
        }
    }

    /// A 413 (body larger than the server accepts).
    pub fn too_large(limit: usize) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "INVALID_ARGUMENT",
            detail: "ContentTooBig",
            message: format!("request body exceeds {limit} bytes"),
        }
    }

    /// A 408: the request body did not arrive in time (a slow or
    /// abandoned upload must not hold a connection forever).
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "DEADLINE_EXCEEDED",
            detail: "Unknown",
            message: format!(
                "the request body did not arrive within {} s",
                limit.as_secs()
            ),
        }
    }

    /// A 429: the server's cap on concurrent long-polls is reached.
    pub fn too_many_long_polls(limit: usize) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "RESOURCE_EXHAUSTED",
            detail: "TooManyRequests",
            message: format!(
                "{limit} long-polls are already waiting (server.max_long_polls); retry later or poll with timeout=0"
            ),
        }
    }

    /// The body in `style`.
    pub fn body(&self, style: Style) -> Value {
        match style {
            Style::V1 => json!({
                "error": self.code,
                "message": self.message,
                "errorDetails": [{"errorDetailType": "DatastoreErrorInfo", "datastoreErrorCode": self.detail}],
            }),
            Style::V2 => json!({"code": self.code, "message": self.message, "details": []}),
            Style::Gateway => json!({"errors": [{"code": 0, "message": self.message}]}),
        }
    }
}

impl From<DataStoreError> for ApiError {
    fn from(e: DataStoreError) -> Self {
        let message = e.to_string();
        let bad = |detail| ApiError::bad_request(detail, message.clone());
        match e {
            DataStoreError::KeyNameEmpty | DataStoreError::KeyNameLimit => bad("InvalidEntryKey"),
            DataStoreError::InvalidDataStoreName(_) => bad("InvalidDataStoreName"),
            DataStoreError::InvalidScope(_) => bad("InvalidDataStoreScope"),
            DataStoreError::ValueTooLarge { .. } => bad("ContentTooBig"),
            DataStoreError::CantStoreValue { .. } | DataStoreError::ValueNotAllowed(_) => {
                bad("ContentNotJson")
            }
            DataStoreError::AttributeSizeTooLarge { .. } => bad("InvalidAttributes"),
            DataStoreError::AttributeFormatError("userId")
            | DataStoreError::UserIdLimitExceeded { .. } => bad("InvalidUserIds"),
            DataStoreError::AttributeFormatError(_) => bad("InvalidAttributes"),
            DataStoreError::InvalidTimestamp => bad("InvalidStartTime"),
            DataStoreError::InvalidVersion(_) => bad("InvalidVersionId"),
            DataStoreError::InvalidCursor => bad("InvalidCursor"),
            DataStoreError::InvalidPageSize { .. } => bad("Unknown"),
            DataStoreError::ExistingValueNotNumeric => bad("ExistingValueNotNumeric"),
            DataStoreError::IncrementOverflow => bad("IncrementValueTooLarge"),
            DataStoreError::Storage(StorageError::Unavailable(_)) => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "UNAVAILABLE",
                detail: "Unknown",
                message,
            },
            DataStoreError::Remote(ref r) if r.is_transient() => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "UNAVAILABLE",
                detail: "Unknown",
                message,
            },
            DataStoreError::Remote(_) => ApiError {
                status: StatusCode::BAD_GATEWAY,
                code: "INTERNAL",
                detail: "Unknown",
                message,
            },
            DataStoreError::Storage(_) => ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "INTERNAL",
                detail: "Unknown",
                message,
            },
        }
    }
}

impl From<crate::sessions::SessionError> for ApiError {
    fn from(e: crate::sessions::SessionError) -> Self {
        use crate::engine::EngineError;
        use crate::sessions::SessionError;
        let message = e.to_string();
        let conflict = |message: String| ApiError {
            status: StatusCode::CONFLICT,
            code: "ABORTED",
            detail: "Unknown",
            message,
        };
        match e {
            SessionError::NotFound { .. } => ApiError::not_found("NotFound", message),
            SessionError::Stale { .. } => conflict(message),
            SessionError::BadRequest(_) => ApiError::bad_request("Unknown", message),
            SessionError::Closing => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "UNAVAILABLE",
                detail: "Unknown",
                message,
            },
            SessionError::Engine(EngineError::AlreadyActive { .. })
            | SessionError::Engine(EngineError::SessionInactive(_)) => conflict(message),
            SessionError::Engine(EngineError::InvalidName(_))
            | SessionError::Engine(EngineError::DataShape(_)) => {
                ApiError::bad_request("Unknown", message)
            }
            SessionError::Engine(EngineError::DataStore(e)) => e.into(),
        }
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        ApiError::bad_request("Unknown", e.to_string())
    }
}
