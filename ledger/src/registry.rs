//! The registry of authorities and their keys, as the log records them.
//!
//! Three event types change it: `AuthorityRegistered`, `AuthorityKeyRotated` and
//! `AuthorityKeyRevoked`, all on the stream `authority:<id>`. A key is valid for
//! signing from the entry that registered it up to (not including) the entry that
//! revoked or retired it: validity is measured in log positions, not in the times
//! authorities claim, so replaying the log decides every signature the same way, with
//! no clock.
//!
//! The registry is derived from the log alone: the writer keeps it in memory and
//! rebuilds it on open by replaying the `authority:` streams, and `verify` replays it
//! from entry 0.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::crypto::PublicKey;
use crate::event::{AuthorityId, ExpectedVersion, KeyId, SignedEvent, StreamKind, Timestamp};
use crate::json::Json;
use crate::rejection::Rejection;

pub const AUTHORITY_REGISTERED: &str = "AuthorityRegistered";
pub const AUTHORITY_KEY_ROTATED: &str = "AuthorityKeyRotated";
pub const AUTHORITY_KEY_REVOKED: &str = "AuthorityKeyRevoked";

/// Keys an authority may hold over its life (rotation keeps the revoked ones).
pub const KEYS_PER_AUTHORITY_MAX: usize = 256;
/// Keys one registration may list.
pub const REGISTERED_KEYS_MAX: usize = 16;

/// What an authority is; the domain's allow-lists of event types hang off this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuthorityKind {
    /// Runs the ledger for its State; registers the other authorities.
    Administrator,
    Ministry,
    Licensing,
    Customs,
    Police,
    InterpolNcb,
    Manufacturer,
    Dealer,
    Broker,
    Auditor,
    Laboratory,
}

/// Where in the log something happened: the entry's index and the log's time for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPosition {
    pub index: u64,
    pub recorded_at: Timestamp,
}

/// One key of an authority and the stretch of the log in which it may sign: from the
/// entry that registered it up to, not including, the entry that revoked or retired it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub public_key: PublicKey,
    pub registered: LogPosition,
    pub revoked: Option<LogPosition>,
}

impl KeyRecord {
    pub fn valid_at(&self, index: u64) -> bool {
        self.registered.index <= index && self.revoked.as_ref().is_none_or(|r| index < r.index)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    pub id: AuthorityId,
    pub name: String,
    pub kind: AuthorityKind,
    /// ISO 3166-1 alpha-2 code of the State the authority acts for.
    pub jurisdiction: String,
    pub registered: LogPosition,
    pub keys: BTreeMap<KeyId, KeyRecord>,
}

/// All authorities known to the log at some position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    authorities: HashMap<AuthorityId, Authority>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyPayload {
    key_id: String,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisteredPayload {
    authority_id: String,
    name: String,
    kind: AuthorityKind,
    jurisdiction: String,
    keys: Vec<KeyPayload>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotatedPayload {
    key_id: String,
    public_key: String,
    #[serde(default)]
    retires_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokedPayload {
    key_id: String,
    reason: String,
}

fn payload<T: serde::de::DeserializeOwned>(event: &SignedEvent) -> Result<T, Rejection> {
    let env = event.envelope();
    let bytes = Json::Object(env.payload.clone()).to_canonical_vec();
    serde_json::from_slice(&bytes).map_err(|e| Rejection::InvalidPayload {
        event_type: env.event_type.to_string(),
        reason: e.to_string(),
    })
}

fn bad_payload(event: &SignedEvent, reason: impl Into<String>) -> Rejection {
    Rejection::InvalidPayload {
        event_type: event.envelope().event_type.to_string(),
        reason: reason.into(),
    }
}

fn not_allowed(event: &SignedEvent, reason: &str) -> Rejection {
    Rejection::ActorNotAllowed {
        actor: event.envelope().actor.to_string(),
        event_type: event.envelope().event_type.to_string(),
        reason: reason.to_owned(),
    }
}

fn parse_key(event: &SignedEvent, k: &KeyPayload) -> Result<(KeyId, PublicKey), Rejection> {
    let id = KeyId::parse(&k.key_id)
        .map_err(|_| bad_payload(event, "key_id must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"))?;
    let pk = PublicKey::from_base64(&k.public_key)
        .map_err(|e| bad_payload(event, format!("public_key {:?}: {e}", k.key_id)))?;
    Ok((id, pk))
}

/// Whether an event type is one the registry interprets.
pub fn is_registry_event(event_type: &str) -> bool {
    matches!(
        event_type,
        AUTHORITY_REGISTERED | AUTHORITY_KEY_ROTATED | AUTHORITY_KEY_REVOKED
    )
}

impl Registry {
    pub fn get(&self, id: &AuthorityId) -> Option<&Authority> {
        self.authorities.get(id)
    }

    pub fn authorities(&self) -> impl Iterator<Item = &Authority> {
        self.authorities.values()
    }

    pub fn len(&self) -> usize {
        self.authorities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.authorities.is_empty()
    }

    /// Puts an authority back as it was before a staged change (None: it did not exist).
    pub(crate) fn restore(&mut self, id: &AuthorityId, prior: Option<Authority>) {
        match prior {
            Some(a) => {
                self.authorities.insert(id.clone(), a);
            }
            None => {
                self.authorities.remove(id);
            }
        }
    }

    /// The key that must have signed `event` for it to be appended at `index`.
    pub fn signing_key(&self, event: &SignedEvent, index: u64) -> Result<PublicKey, Rejection> {
        let env = event.envelope();
        let authority = self
            .authorities
            .get(&env.actor)
            .ok_or_else(|| Rejection::UnknownActor(env.actor.to_string()))?;
        let key = authority
            .keys
            .get(&env.key_id)
            .ok_or_else(|| Rejection::UnknownKey {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
            })?;
        if key.valid_at(index) {
            return Ok(key.public_key);
        }
        match &key.revoked {
            Some(r) if r.index <= index => Err(Rejection::KeyRevoked {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
                revoked_at: r.index,
            }),
            // Registered after this position: at `index` the key did not exist.
            _ => Err(Rejection::UnknownKey {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
            }),
        }
    }

    /// The first entry of every ledger: the root administrator registers itself and
    /// signs with one of the keys it registers. Checks the signature itself, since no
    /// registry exists yet to say which key to trust.
    pub fn apply_genesis(
        &mut self,
        event: &SignedEvent,
        at: &LogPosition,
    ) -> Result<(), Rejection> {
        let env = event.envelope();
        if env.event_type.as_str() != AUTHORITY_REGISTERED
            || env.expected_version != ExpectedVersion::NoStream
        {
            return Err(Rejection::GenesisRequired);
        }
        let authority = self.registered_authority(event, at)?;
        let own_stream =
            env.stream.kind() == StreamKind::Authority && env.stream.id() == env.actor.as_str();
        if authority.kind != AuthorityKind::Administrator
            || authority.id != env.actor
            || !own_stream
        {
            return Err(Rejection::GenesisRequired);
        }
        let key = authority
            .keys
            .get(&env.key_id)
            .ok_or_else(|| Rejection::UnknownKey {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
            })?;
        crate::crypto::verify_strict(&key.public_key, event.signing_bytes(), event.signature())
            .map_err(|_| Rejection::SignatureInvalid {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
            })?;
        self.authorities.insert(authority.id.clone(), authority);
        Ok(())
    }

    /// Applies a registry event accepted at `at`, after its signature was checked.
    /// Events of other types leave the registry unchanged.
    pub fn apply(&mut self, event: &SignedEvent, at: &LogPosition) -> Result<(), Rejection> {
        let env = event.envelope();
        if !is_registry_event(env.event_type.as_str()) {
            return Ok(());
        }
        if env.stream.kind() != StreamKind::Authority {
            return Err(bad_payload(
                event,
                "registry events belong on the authority:<id> stream",
            ));
        }
        let actor_kind = self.authorities.get(&env.actor).map(|a| a.kind);
        let is_admin = actor_kind == Some(AuthorityKind::Administrator);
        let subject = AuthorityId::parse(env.stream.id())
            .map_err(|_| bad_payload(event, "bad authority stream"))?;
        match env.event_type.as_str() {
            AUTHORITY_REGISTERED => {
                if !is_admin {
                    return Err(not_allowed(
                        event,
                        "only an administrator registers authorities",
                    ));
                }
                let authority = self.registered_authority(event, at)?;
                if authority.id != subject {
                    return Err(bad_payload(
                        event,
                        "authority_id must equal the stream's id",
                    ));
                }
                if self.authorities.contains_key(&authority.id) {
                    return Err(Rejection::AuthorityExists(authority.id.to_string()));
                }
                self.authorities.insert(authority.id.clone(), authority);
            }
            AUTHORITY_KEY_ROTATED => {
                if !(is_admin || subject == env.actor) {
                    return Err(not_allowed(
                        event,
                        "keys are rotated by their authority or an administrator",
                    ));
                }
                let p: RotatedPayload = payload(event)?;
                let (key_id, public_key) = parse_key(
                    event,
                    &KeyPayload {
                        key_id: p.key_id,
                        public_key: p.public_key,
                    },
                )?;
                let authority = self.subject_mut(event, &subject)?;
                if authority.keys.len() >= KEYS_PER_AUTHORITY_MAX {
                    return Err(bad_payload(
                        event,
                        format!(
                            "an authority holds at most {KEYS_PER_AUTHORITY_MAX} keys, revoked ones included"
                        ),
                    ));
                }
                if authority.keys.contains_key(&key_id) {
                    return Err(Rejection::KeyExists {
                        actor: subject.to_string(),
                        key_id: key_id.to_string(),
                    });
                }
                if let Some(old) = p.retires_key_id {
                    let old =
                        KeyId::parse(&old).map_err(|_| bad_payload(event, "bad retires_key_id"))?;
                    revoke(event, authority, &old, at)?;
                }
                authority.keys.insert(
                    key_id,
                    KeyRecord {
                        public_key,
                        registered: at.clone(),
                        revoked: None,
                    },
                );
            }
            _ => {
                if !(is_admin || subject == env.actor) {
                    return Err(not_allowed(
                        event,
                        "keys are revoked by their authority or an administrator",
                    ));
                }
                let p: RevokedPayload = payload(event)?;
                if p.reason.trim().is_empty() {
                    return Err(bad_payload(event, "a revocation states its reason"));
                }
                let key_id =
                    KeyId::parse(&p.key_id).map_err(|_| bad_payload(event, "bad key_id"))?;
                let authority = self.subject_mut(event, &subject)?;
                revoke(event, authority, &key_id, at)?;
            }
        }
        Ok(())
    }

    fn subject_mut(
        &mut self,
        event: &SignedEvent,
        subject: &AuthorityId,
    ) -> Result<&mut Authority, Rejection> {
        self.authorities
            .get_mut(subject)
            .ok_or_else(|| bad_payload(event, format!("authority {subject} is not registered")))
    }

    fn registered_authority(
        &self,
        event: &SignedEvent,
        at: &LogPosition,
    ) -> Result<Authority, Rejection> {
        let p: RegisteredPayload = payload(event)?;
        let id = AuthorityId::parse(&p.authority_id)
            .map_err(|_| bad_payload(event, "authority_id must match [a-z0-9][a-z0-9._-]{0,63}"))?;
        if p.name.trim().is_empty() {
            return Err(bad_payload(event, "name must not be empty"));
        }
        if !(p.jurisdiction.len() == 2 && p.jurisdiction.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(bad_payload(
                event,
                "jurisdiction must be an ISO 3166-1 alpha-2 code",
            ));
        }
        if p.keys.is_empty() || p.keys.len() > REGISTERED_KEYS_MAX {
            return Err(bad_payload(
                event,
                format!("an authority registers from 1 to {REGISTERED_KEYS_MAX} keys"),
            ));
        }
        let mut keys = BTreeMap::new();
        for k in &p.keys {
            let (key_id, public_key) = parse_key(event, k)?;
            let record = KeyRecord {
                public_key,
                registered: at.clone(),
                revoked: None,
            };
            if keys.insert(key_id, record).is_some() {
                return Err(bad_payload(
                    event,
                    format!("key id {:?} is listed twice", k.key_id),
                ));
            }
        }
        Ok(Authority {
            id,
            name: p.name,
            kind: p.kind,
            jurisdiction: p.jurisdiction,
            registered: at.clone(),
            keys,
        })
    }
}

fn revoke(
    event: &SignedEvent,
    authority: &mut Authority,
    key_id: &KeyId,
    at: &LogPosition,
) -> Result<(), Rejection> {
    let key = authority
        .keys
        .get_mut(key_id)
        .ok_or_else(|| bad_payload(event, format!("authority has no key {key_id}")))?;
    if key.revoked.is_some() {
        return Err(bad_payload(
            event,
            format!("key {key_id} is already revoked"),
        ));
    }
    key.revoked = Some(at.clone());
    Ok(())
}
