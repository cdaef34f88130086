//! The error-code table of Open Cloud: the status names of every error
//! body (`error` in v1, `code` in v2) and v1's `datastoreErrorCode`s.
//!
//! Owns: [`ErrorCode`] and [`DetailCode`], their serialized names and
//! their parse functions. Invariants: a variant's serialized name is its
//! wire name and never changes with a Rust rename (each is spelled out in
//! `as_str`); parsing a name that is not in the table gives `None` (for
//! serde, a [`DetailCode`] not in the table reads as `Unknown`, so a
//! client keeps working when the server adds a code).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! code_table {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every code, in table order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The code named `text` (exact spelling), or `None`.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

code_table! {
    /// Open Cloud's status name of an error (gRPC style).
    ErrorCode {
        /// 400, 405, 413: the request is wrong.
        InvalidArgument = "INVALID_ARGUMENT",
        /// 401: missing or wrong API key.
        Unauthenticated = "UNAUTHENTICATED",
        /// 403: the key is right, but this is not allowed (the emulator
        /// controls are off, or the server has no key).
        PermissionDenied = "PERMISSION_DENIED",
        /// 403 (v1 bodies): the API key lacks the scope the request needs
        /// (v2 bodies say `PERMISSION_DENIED`).
        InsufficientScope = "INSUFFICIENT_SCOPE",
        /// 404.
        NotFound = "NOT_FOUND",
        /// 409: a concurrent change (stale etag, stale session).
        Aborted = "ABORTED",
        /// 409: the resource to create exists (an emulator snapshot id).
        AlreadyExists = "ALREADY_EXISTS",
        /// 412: v1's `matchVersion`/`exclusiveCreate` failed.
        FailedPrecondition = "FAILED_PRECONDITION",
        /// 408: the body did not arrive in time.
        DeadlineExceeded = "DEADLINE_EXCEEDED",
        /// 429.
        ResourceExhausted = "RESOURCE_EXHAUSTED",
        /// 503: retry later.
        Unavailable = "UNAVAILABLE",
        /// 500, 502.
        Internal = "INTERNAL",
    }
}

code_table! {
    /// v1's `errorDetails[0].datastoreErrorCode`.
    DetailCode {
        /// No more precise code.
        Unknown = "Unknown",
        /// The entry key is empty or too long.
        InvalidEntryKey = "InvalidEntryKey",
        /// The data store name is missing or invalid.
        InvalidDataStoreName = "InvalidDataStoreName",
        /// The scope is invalid.
        InvalidDataStoreScope = "InvalidDataStoreScope",
        /// The universe in the path is not a number.
        InvalidUniverseId = "InvalidUniverseId",
        /// The value or body is too large.
        ContentTooBig = "ContentTooBig",
        /// The value is not storable JSON.
        ContentNotJson = "ContentNotJson",
        /// The attributes are invalid.
        InvalidAttributes = "InvalidAttributes",
        /// The user ids are invalid.
        InvalidUserIds = "InvalidUserIds",
        /// A start time is invalid.
        InvalidStartTime = "InvalidStartTime",
        /// An end time is invalid.
        InvalidEndTime = "InvalidEndTime",
        /// A version id is invalid.
        InvalidVersionId = "InvalidVersionId",
        /// A cursor is invalid.
        InvalidCursor = "InvalidCursor",
        /// `sortOrder` is neither ascending nor descending.
        InvalidSortOrder = "InvalidSortOrder",
        /// An increment met a value that is not a number.
        ExistingValueNotNumeric = "ExistingValueNotNumeric",
        /// An increment overflowed.
        IncrementValueTooLarge = "IncrementValueTooLarge",
        /// `content-md5` does not match the body.
        ChecksumMismatch = "ChecksumMismatch",
        /// `exclusiveCreate` and `matchVersion` together.
        ExclusiveCreateAndMatchVersionCannotBeSet = "ExclusiveCreateAndMatchVersionCannotBeSet",
        /// The entry does not exist.
        EntryNotFound = "EntryNotFound",
        /// The version does not exist (deleted or expired).
        VersionNotFound = "VersionNotFound",
        /// A precondition (`matchVersion`, `exclusiveCreate`, `etag`) failed.
        PreconditionFailed = "PreconditionFailed",
        /// Too many requests at once.
        TooManyRequests = "TooManyRequests",
        /// The API key was refused.
        Forbidden = "Forbidden",
        /// The API key lacks the scope the request needs.
        InsufficientScope = "InsufficientScope",
        /// Session API: no such profile or session.
        NotFound = "NotFound",
        /// The data store was deleted through Open Cloud (Roblox's server error name).
        DatastoreDeleted = "DatastoreDeleted",
        /// A create met an existing resource (v2 bodies then also carry
        /// `"error": "ALREADY_EXISTS"`, which rblx-open-cloud reads).
        AlreadyExists = "AlreadyExists",
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        ErrorCode::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{text}`")))
    }
}

impl<'de> Deserialize<'de> for DetailCode {
    /// A code not in the table reads as [`DetailCode::Unknown`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(DetailCode::parse(&text).unwrap_or(DetailCode::Unknown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *c);
        }
        for c in DetailCode::ALL {
            assert_eq!(DetailCode::parse(c.as_str()), Some(*c));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(serde_json::from_str::<DetailCode>(&json).unwrap(), *c);
        }
    }

    #[test]
    fn unknown_detail_codes_read_as_unknown() {
        assert_eq!(DetailCode::parse("SomethingNew"), None);
        let c: DetailCode = serde_json::from_str("\"SomethingNew\"").unwrap();
        assert_eq!(c, DetailCode::Unknown);
        assert!(serde_json::from_str::<ErrorCode>("\"NOPE\"").is_err());
    }
}
