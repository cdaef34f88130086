//! The stored profile document: the JSON layout ProfileStore (and the older
//! ProfileService) keep under a key.
//!
//! Owns: classifying a stored value (profile, messages only, missing, or
//! something to overwrite), reading it into [`ProfileDocument`] and writing
//! it back. Invariants:
//! - a document loaded and written back unchanged is equal, as JSON, to the
//!   one loaded, except that empty tables are written as `[]` (what Roblox's
//!   encoder writes for any empty table);
//! - both Luau spellings of an empty table (`{}` and `[]`) are accepted
//!   wherever a list or an object is expected;
//! - fields this module does not know are kept, at the top level and in
//!   `MetaData`;
//! - numbers keep their JSON representation (a `PlaceId` of `1` stays `1`).

use serde_json::{Map, Number, Value};

/// The server that owns (or asked for) a session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionOwner {
    /// `game.PlaceId`.
    pub place_id: Number,
    /// `game.JobId`.
    pub job_id: String,
    /// The session's GUID; `None` in ProfileService's two-element form.
    pub session_id: Option<String>,
}

impl SessionOwner {
    /// Whether this names the same server (place and job).
    pub fn same_server(&self, other: &SessionOwner) -> bool {
        self.place_id.as_f64() == other.place_id.as_f64() && self.job_id == other.job_id
    }

    fn from_json(v: &Value) -> Option<SessionOwner> {
        let items = v.as_array()?;
        let place_id = match items.first()? {
            Value::Number(n) => n.clone(),
            _ => return None,
        };
        let job_id = items.get(1)?.as_str()?.to_owned();
        let session_id = items.get(2).and_then(Value::as_str).map(str::to_owned);
        Some(SessionOwner {
            place_id,
            job_id,
            session_id,
        })
    }

    fn to_json(&self, with_session: bool) -> Value {
        let mut items = vec![
            Value::Number(self.place_id.clone()),
            Value::from(self.job_id.clone()),
        ];
        if let (true, Some(id)) = (with_session, &self.session_id) {
            items.push(Value::from(id.clone()));
        }
        Value::Array(items)
    }
}

/// One pending message: `[index, message]`, or ProfileService's
/// `[index, version, locked, data]`. The payload is always the last element.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEntry {
    raw: Vec<Value>,
}

impl MessageEntry {
    /// A new entry in ProfileStore's form.
    pub fn new(index: u64, message: Value) -> Self {
        MessageEntry {
            raw: vec![Value::from(index), message],
        }
    }

    /// The message index.
    pub fn index(&self) -> u64 {
        self.raw.first().and_then(number_u64).unwrap_or(0)
    }

    /// The message itself.
    pub fn payload(&self) -> &Value {
        self.raw.last().unwrap_or(&Value::Null)
    }
}

/// `GlobalUpdates`: `[last_index, [entries...]]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Messages {
    /// The index of the last message ever added.
    pub last_index: u64,
    /// Pending messages, oldest first.
    pub entries: Vec<MessageEntry>,
}

impl Messages {
    fn from_json(v: &Value) -> Option<Messages> {
        let items = list(v)?;
        if items.is_empty() {
            return Some(Messages::default());
        }
        let last_index = number_u64(items.first()?)?;
        let entries = match items.get(1) {
            None => Vec::new(),
            Some(e) => list(e)?
                .into_iter()
                .map(|entry| {
                    let raw = entry.as_array()?.clone();
                    (raw.len() >= 2 && number_u64(&raw[0]).is_some())
                        .then_some(MessageEntry { raw })
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(Messages {
            last_index,
            entries,
        })
    }

    fn to_json(&self) -> Value {
        let entries: Vec<Value> = self
            .entries
            .iter()
            .map(|e| Value::Array(e.raw.clone()))
            .collect();
        Value::Array(vec![Value::from(self.last_index), Value::Array(entries)])
    }

    /// Appends a message with the next index, dropping the oldest beyond `cap`.
    pub fn push(&mut self, message: Value, cap: usize) -> u64 {
        self.last_index += 1;
        self.entries
            .push(MessageEntry::new(self.last_index, message));
        if self.entries.len() > cap {
            let excess = self.entries.len() - cap;
            self.entries.drain(..excess);
        }
        self.last_index
    }
}

/// `MetaData` of a profile.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaData {
    /// `ProfileCreateTime`, Unix seconds.
    pub profile_create_time: Number,
    /// `SessionLoadCount`: sessions started so far.
    pub session_load_count: u64,
    /// `ActiveSession`: the owner, if any.
    pub active_session: Option<SessionOwner>,
    /// `ForceLoadSession`: the server asking for the profile, if any.
    pub force_load_session: Option<SessionOwner>,
    /// `LastUpdate`, Unix seconds of the owner's last write.
    pub last_update: Number,
    /// `MetaTags` (ProfileService), kept as it is.
    pub meta_tags: Value,
    /// Fields of `MetaData` this module does not know.
    pub extra: Map<String, Value>,
}

/// A loaded profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileDocument {
    /// `Data`: the game's data (an object; an empty Luau table reads as `{}`).
    pub data: Value,
    /// `MetaData`.
    pub meta: MetaData,
    /// `RobloxMetaData`: also the key's metadata.
    pub roblox_metadata: Map<String, Value>,
    /// `UserIds`: also the key's user ids.
    pub user_ids: Vec<i64>,
    /// `GlobalUpdates`: pending messages.
    pub messages: Messages,
    /// `WasOverwritten` (absent in ProfileService documents).
    pub was_overwritten: Option<bool>,
    /// Top-level fields this module does not know.
    pub extra: Map<String, Value>,
}

/// What a stored value is.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Nothing is stored.
    Missing,
    /// A profile.
    Profile(Box<ProfileDocument>),
    /// No profile yet, but messages are waiting for it.
    MessagesOnly(Messages),
    /// Something else: treated as missing and replaced, with an overwrite
    /// event on the first write.
    Foreign(Value),
}

fn number_u64(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
            .map(|f| f as u64)
    })
}

/// The items of a JSON list, accepting Luau's `{}` for an empty list.
fn list(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items.clone()),
        Value::Object(m) if m.is_empty() => Some(Vec::new()),
        _ => None,
    }
}

/// A JSON object, accepting Luau's `[]` for an empty object.
fn object(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m.clone()),
        Value::Array(items) if items.is_empty() => Some(Map::new()),
        _ => None,
    }
}

/// Roblox's encoding of a table: an empty one is `[]`.
fn table(m: &Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(m.clone())
    }
}

fn empty_as_list(v: &Value) -> Value {
    match v {
        Value::Object(m) if m.is_empty() => Value::Array(Vec::new()),
        other => other.clone(),
    }
}

impl MetaData {
    /// Reads a `MetaData` object on its own (the lock history reads only
    /// this part of a document); `None` when it is not an object.
    pub fn read(v: &Value) -> Option<MetaData> {
        Self::from_json(v)
    }

    fn from_json(v: &Value) -> Option<MetaData> {
        let mut m = object(v)?;
        let num = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
            Some(Value::Number(n)) => n,
            _ => Number::from(0),
        };
        let profile_create_time = num(&mut m, "ProfileCreateTime");
        let last_update = num(&mut m, "LastUpdate");
        let session_load_count = m
            .remove("SessionLoadCount")
            .as_ref()
            .and_then(number_u64)
            .unwrap_or(0);
        let active_session = m
            .remove("ActiveSession")
            .as_ref()
            .and_then(SessionOwner::from_json);
        let force_load_session = m
            .remove("ForceLoadSession")
            .as_ref()
            .and_then(SessionOwner::from_json);
        let meta_tags = m.remove("MetaTags").unwrap_or(Value::Array(Vec::new()));
        Some(MetaData {
            profile_create_time,
            session_load_count,
            active_session,
            force_load_session,
            last_update,
            meta_tags,
            extra: m,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "ProfileCreateTime".into(),
            Value::Number(self.profile_create_time.clone()),
        );
        m.insert(
            "SessionLoadCount".into(),
            Value::from(self.session_load_count),
        );
        if let Some(owner) = &self.active_session {
            m.insert("ActiveSession".into(), owner.to_json(true));
        }
        if let Some(asker) = &self.force_load_session {
            m.insert("ForceLoadSession".into(), asker.to_json(false));
        }
        m.insert("LastUpdate".into(), Value::Number(self.last_update.clone()));
        m.insert("MetaTags".into(), empty_as_list(&self.meta_tags));
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl ProfileDocument {
    /// A fresh profile holding `data`, created at `now_secs`.
    pub fn new(data: Value, now_secs: i64) -> Self {
        ProfileDocument {
            data,
            meta: MetaData {
                profile_create_time: Number::from(now_secs),
                session_load_count: 0,
                active_session: None,
                force_load_session: None,
                last_update: Number::from(now_secs),
                meta_tags: Value::Array(Vec::new()),
                extra: Map::new(),
            },
            roblox_metadata: Map::new(),
            user_ids: Vec::new(),
            messages: Messages::default(),
            was_overwritten: Some(false),
            extra: Map::new(),
        }
    }

    /// Writes the document in the Luau module's layout.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        let data = match &self.data {
            Value::Object(d) => table(d),
            other => other.clone(),
        };
        m.insert("Data".into(), data);
        m.insert("MetaData".into(), self.meta.to_json());
        m.insert("RobloxMetaData".into(), table(&self.roblox_metadata));
        m.insert(
            "UserIds".into(),
            Value::Array(self.user_ids.iter().map(|id| Value::from(*id)).collect()),
        );
        m.insert("GlobalUpdates".into(), self.messages.to_json());
        if let Some(flag) = self.was_overwritten {
            m.insert("WasOverwritten".into(), Value::Bool(flag));
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// Classifies and reads a stored value.
pub fn classify(value: Option<&Value>) -> Stored {
    let Some(value) = value else {
        return Stored::Missing;
    };
    let Value::Object(top) = value else {
        return Stored::Foreign(value.clone());
    };
    let has = |k: &str| top.contains_key(k);
    if !has("Data") && !has("MetaData") {
        if let Some(messages) = top.get("GlobalUpdates").and_then(Messages::from_json) {
            return Stored::MessagesOnly(messages);
        }
    }
    match read_profile(top) {
        Some(doc) => Stored::Profile(Box::new(doc)),
        None => Stored::Foreign(value.clone()),
    }
}

fn read_profile(top: &Map<String, Value>) -> Option<ProfileDocument> {
    let data = match top.get("Data")? {
        Value::Object(d) => Value::Object(d.clone()),
        Value::Array(items) if items.is_empty() => Value::Object(Map::new()),
        _ => return None,
    };
    let meta = MetaData::from_json(top.get("MetaData")?)?;
    let messages = Messages::from_json(top.get("GlobalUpdates")?)?;
    let roblox_metadata = top
        .get("RobloxMetaData")
        .and_then(object)
        .unwrap_or_default();
    let user_ids = top
        .get("UserIds")
        .and_then(list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            v.as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        })
        .collect();
    let was_overwritten = top.get("WasOverwritten").and_then(Value::as_bool);
    let known = [
        "Data",
        "MetaData",
        "RobloxMetaData",
        "UserIds",
        "GlobalUpdates",
        "WasOverwritten",
    ];
    let extra = top
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(ProfileDocument {
        data,
        meta,
        roblox_metadata,
        user_ids,
        messages,
        was_overwritten,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_fresh_profile_writes_the_luau_layout() {
        let doc = ProfileDocument::new(json!({}), 1_700_000_000);
        assert_eq!(
            doc.to_value(),
            json!({
                "Data": [],
                "MetaData": {"ProfileCreateTime": 1_700_000_000, "SessionLoadCount": 0,
                             "LastUpdate": 1_700_000_000, "MetaTags": []},
                "RobloxMetaData": [], "UserIds": [], "GlobalUpdates": [0, []],
                "WasOverwritten": false
            })
        );
    }

    #[test]
    fn messages_keep_the_cap_and_count_on() {
        let mut m = Messages::default();
        for i in 0..5 {
            m.push(json!(i), 3);
        }
        assert_eq!(m.last_index, 5);
        assert_eq!(
            m.entries
                .iter()
                .map(MessageEntry::index)
                .collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(m.entries[0].payload(), &json!(2));
    }

    #[test]
    fn classifies_other_values_as_foreign() {
        assert_eq!(classify(None), Stored::Missing);
        for v in [json!("text"), json!([1, 2]), json!({"foo": 1}), json!(null)] {
            assert!(matches!(classify(Some(&v)), Stored::Foreign(_)), "{v}");
        }
    }
}
