//! The error bodies of the three API families: DataStore v1 and messaging
//! v1 (`{"error", "message", "errorDetails"}`), v2 and the session API
//! (`{"code", "message", "details"}`) and the gateway in front of them
//! (authentication and unknown routes: `{"errors": [{"code": 0, "message"}]}`).
//!
//! Owns: [`V1Error`], [`V2Error`], [`GatewayError`]. Invariant: the field
//! order is the wire's; each type both writes (server) and reads (client).

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
