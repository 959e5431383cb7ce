//! The demo ledger: a realistic sample so that a new user sees real data at once
//! (`armsledger serve --demo`, `armsledger demo`).
//!
//! Five States (Belgium exports, Kenya imports, the Netherlands is a transit State,
//! France and Colombia seize and trace), their licensing, customs and police authorities,
//! a manufacturer and a forensic laboratory; a few thousand weapons with manufacture
//! markings; export licences, end-user certificates, consignments with transit, import and
//! delivery verification; a consignment whose delivery is never verified and whose weapons
//! turn up seized abroad and are traced back; thefts, a recovery, destructions, a
//! duplicate serial corrected, an obliterated serial restored; trace requests answered,
//! refused with a reason, and one still open. Every event goes through the ledger's rules,
//! like any client's.
//!
//! The keys are generated for each demo and written beside it: they are demo keys, not
//! to be used for anything real.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ledger::event::{
    AuthorityId, Envelope, EventId, EventType, ExpectedVersion, KeyId, SignedEvent, StreamName,
    Timestamp,
};
use ledger::json::Json;
use ledger::{Genesis, Ledger, LedgerConfig, SystemClock, crypto};
use serde_json::{Value, json};

use crate::auth::Role;

/// What a built demo consists of.
#[derive(Debug)]
pub struct Demo {
    pub db: PathBuf,
    pub log_key: PathBuf,
    pub token_file: PathBuf,
    /// (who, role, token) of the demo tokens, for the user to try.
    pub tokens: Vec<(String, Role, String)>,
}

/// The demo's origin (its checkpoints' first line).
pub const DEMO_ORIGIN: &str = "armsledger.demo/be";

struct Authority {
    id: AuthorityId,
    key_id: KeyId,
    key: SigningKey,
}

impl Authority {
    fn event(
        &self,
        stream: &str,
        event_type: &str,
        day: &str,
        payload: Value,
    ) -> anyhow::Result<SignedEvent> {
        let bytes = serde_json::to_vec(&payload)?;
        let Json::Object(payload) = Json::parse(&bytes, 32)? else {
            anyhow::bail!("a payload is a JSON object");
        };
        let envelope = Envelope {
            event_id: EventId::new_v7(),
            stream: StreamName::parse(stream)?,
            expected_version: ExpectedVersion::Any,
            event_type: EventType::parse(event_type)?,
            type_version: 1,
            payload,
            actor: self.id.clone(),
            key_id: self.key_id.clone(),
            occurred_at: Timestamp::parse(&format!("{day}T10:00:00Z"))
                .map_err(anyhow::Error::msg)?,
        };
        Ok(envelope.sign(&self.key))
    }
}

fn weapon_id(n: u64) -> String {
    let v = 0x0193_0000_0000_7000_8000_0000_0000_0000_u128 | u128::from(n);
    uuid::Uuid::from_u128(v).hyphenated().to_string()
}

fn weapon_stream(n: u64) -> String {
    format!("weapon:{}", weapon_id(n))
}

const MODELS: [(&str, &str, &str); 4] = [
    ("FNC", "5.56x45mm", "assault_rifles"),
    ("F2000", "5.56x45mm", "assault_rifles"),
    ("SCAR-H", "7.62x51mm", "rifles_and_carbines"),
    ("Minimi", "5.56x45mm", "light_machine_guns"),
];

fn serial(n: u64) -> String {
    format!("FN{}-{:06}", 2020 + n % 5, n)
}

fn organisation(name: &str, country: &str) -> Value {
    json!({ "name": name, "address": format!("{name}, head office"), "country": country })
}

fn goods(quantity: u64) -> Value {
    json!([{ "description": "Assault rifles, 5.56x45mm, with accessories",
             "category": "assault_rifles", "quantity": quantity,
             "calibre": "5.56x45mm", "manufacturer": "FN Herstal" }])
}

struct Builder {
    ledger: Ledger,
    keys_dir: PathBuf,
}

impl Builder {
    fn register(
        &self,
        root: &Authority,
        id: &str,
        name: &str,
        kind: &str,
        state: &str,
    ) -> anyhow::Result<Authority> {
        let key = crypto::generate_signing_key()?;
        let payload = json!({
            "authority_id": id, "name": name, "kind": kind, "jurisdiction": state,
            "keys": [{ "key_id": "k1", "public_key": crypto::public_key_of(&key).to_base64() }]
        });
        self.append(root.event(
            &format!("authority:{id}"),
            "AuthorityRegistered",
            "2024-01-02",
            payload,
        )?)?;
        let pem = crypto::signing_key_to_pem(&key)?;
        write_private(
            &self.keys_dir.join(format!("{id}.k1.key.pem")),
            pem.as_bytes(),
        )?;
        Ok(Authority {
            id: AuthorityId::parse(id)?,
            key_id: KeyId::parse("k1")?,
            key,
        })
    }

    fn append(&self, event: SignedEvent) -> anyhow::Result<()> {
        let stream = event.envelope().stream.to_string();
        let event_type = event.envelope().event_type.to_string();
        self.ledger
            .append(event)
            .with_context(|| format!("demo event {event_type} on {stream}"))?;
        Ok(())
    }

    fn batch(&self, events: Vec<SignedEvent>) -> anyhow::Result<()> {
        for chunk in events.chunks(500) {
            self.ledger
                .append_batch(chunk.to_vec())
                .context("demo batch")?;
        }
        Ok(())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// Builds the demo ledger in `dir` (which must not hold one yet) with `weapons` weapons.
pub fn build(dir: &Path, weapons: u64) -> anyhow::Result<Demo> {
    let weapons = weapons.max(400);
    std::fs::create_dir_all(dir)?;
    let db = dir.join("demo.redb");
    anyhow::ensure!(!db.exists(), "{} exists already", db.display());
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir)?;
    let log_key = crypto::generate_signing_key()?;
    let log_key_path = keys_dir.join("log.key.pem");
    write_private(
        &log_key_path,
        crypto::signing_key_to_pem(&log_key)?.as_bytes(),
    )?;
    let root = Authority {
        id: AuthorityId::parse("be-admin")?,
        key_id: KeyId::parse("k1")?,
        key: crypto::generate_signing_key()?,
    };
    write_private(
        &keys_dir.join("be-admin.k1.key.pem"),
        crypto::signing_key_to_pem(&root.key)?.as_bytes(),
    )?;
    let ledger = Ledger::create(
        &db,
        Genesis {
            origin: DEMO_ORIGIN.into(),
            log_key,
            root_authority: root.id.clone(),
            root_name: "Belgian arms register administration (demo)".into(),
            jurisdiction: "BE".into(),
            root_key_id: root.key_id.clone(),
            root_key: &root.key,
            occurred_at: Timestamp::parse("2024-01-01T09:00:00Z").map_err(anyhow::Error::msg)?,
        },
        LedgerConfig::default(),
        SystemClock::shared(),
    )?;
    let b = Builder { ledger, keys_dir };
    let be_licensing = b.register(
        &root,
        "be-licensing",
        "Flemish Department of Foreign Affairs, arms licensing",
        "licensing",
        "BE",
    )?;
    let be_customs = b.register(
        &root,
        "be-customs",
        "Belgian Customs, Antwerp",
        "customs",
        "BE",
    )?;
    let be_police = b.register(
        &root,
        "be-police",
        "Belgian Federal Police, arms unit",
        "police",
        "BE",
    )?;
    let be_lab = b.register(
        &root,
        "be-nicc",
        "National Institute of Criminalistics",
        "laboratory",
        "BE",
    )?;
    let fn_herstal = b.register(&root, "be-fn", "FN Herstal", "manufacturer", "BE")?;
    let ke_ministry = b.register(
        &root,
        "ke-mod",
        "Kenya Ministry of Defence",
        "ministry",
        "KE",
    )?;
    let ke_customs = b.register(
        &root,
        "ke-customs",
        "Kenya Revenue Authority, customs",
        "customs",
        "KE",
    )?;
    let nl_licensing = b.register(
        &root,
        "nl-licensing",
        "Netherlands Central Import and Export Office",
        "licensing",
        "NL",
    )?;
    let nl_customs = b.register(
        &root,
        "nl-customs",
        "Netherlands Customs, Rotterdam",
        "customs",
        "NL",
    )?;
    let fr_police = b.register(
        &root,
        "fr-police",
        "French Central Office against Arms Trafficking",
        "police",
        "FR",
    )?;
    let co_police = b.register(
        &root,
        "co-police",
        "Colombian National Police",
        "police",
        "CO",
    )?;
    let auditor = b.register(
        &root,
        "be-court-of-audit",
        "Belgian Court of Audit",
        "auditor",
        "BE",
    )?;

    // Weapons, made in Belgium.
    let mut marked = Vec::new();
    for n in 0..weapons {
        let (model, calibre, category) = MODELS[(n % 4) as usize];
        marked.push(fn_herstal.event(
            &weapon_stream(n),
            "WeaponMarked",
            "2024-02-01",
            json!({
                "manufacturer": "FN Herstal", "country_of_manufacture": "BE",
                "serial_number": serial(n), "model": model, "calibre": calibre,
                "category": category, "year_of_manufacture": 2020 + n % 5,
                "marks": [{ "component": "receiver", "text": format!("FN HERSTAL BELGIUM {}", serial(n)) }],
                "legal_basis": "ITI 8(a)"
            }),
        )?);
    }
    b.batch(marked)?;

    // Kenya: a certificate, a licence, a shipment through Rotterdam, delivered and verified.
    let kenya = |n: u64| (0..n).map(weapon_id).collect::<Vec<_>>();
    let euc = |number: &str, quantity: u64| {
        json!({
            "certificate_number": number, "issuing_state": "KE",
            "issuing_authority": "Kenya Ministry of Defence",
            "authorised_signatory": { "name": "Col. A. Wanjiru", "position": "Director of Procurement" },
            "exporter": organisation("FN Herstal", "BE"),
            "end_user": { "name": "Kenya Defence Forces", "address": "Ulinzi House, Nairobi", "kind": "government" },
            "goods": goods(quantity),
            "contract": { "reference": format!("KDF/{number}"), "date": "2024-03-01" },
            "final_destination_country": "KE", "end_use": "Equipment of infantry units",
            "date_of_issue": "2024-03-10", "valid_until": "2025-03-10",
            "non_reexport_clause": true, "dvc_undertaking": true,
            "consent_to_post_shipment_verification": true
        })
    };
    let licence = |euc_number: &str, quantity: u64| {
        json!({
            "exporter": organisation("FN Herstal", "BE"), "exporting_country": "BE",
            "importing_country": "KE",
            "end_user": { "name": "Kenya Defence Forces", "address": "Ulinzi House, Nairobi", "kind": "government" },
            "end_use": "Equipment of infantry units", "goods": goods(quantity),
            "transit_countries": ["NL"], "euc": euc_number
        })
    };
    let granted = json!({ "decision": "granted", "place_of_issue": "Brussels",
                          "valid_from": "2024-04-01", "valid_until": "2025-03-31" });
    b.append(ke_ministry.event(
        "euc:KE-EUC-2024-0007",
        "EndUserCertificateIssued",
        "2024-03-10",
        euc("KE-EUC-2024-0007", 200),
    )?)?;
    b.append(fn_herstal.event(
        "licence:BE-EL-2024-0101",
        "ExportLicenceApplied",
        "2024-03-15",
        licence("KE-EUC-2024-0007", 200),
    )?)?;
    b.append(be_licensing.event(
        "euc:KE-EUC-2024-0007",
        "EndUserCertificateVerified",
        "2024-03-20",
        json!({ "method": "Diplomatic channel, embassy in Nairobi" }),
    )?)?;
    b.append(be_licensing.event(
        "licence:BE-EL-2024-0101",
        "ExportLicenceDecided",
        "2024-03-28",
        granted.clone(),
    )?)?;
    b.append(nl_licensing.event(
        "licence:BE-EL-2024-0101",
        "TransitNoObjectionRecorded",
        "2024-04-02",
        json!({ "transit_state": "NL", "reference": "CDIU-T-2024-118" }),
    )?)?;
    let dispatch = |licence: &str, euc: &str, ids: Vec<String>| {
        json!({
            "export_licence": licence, "euc": euc,
            "exporter": organisation("FN Herstal", "BE"),
            "consignee": organisation("Kenya Defence Forces, central depot", "KE"),
            "destination_country": "KE", "weapons": ids,
            "route": { "transit_countries": ["NL"], "carrier": "Demo Shipping Lines", "transport_mode": "sea" }
        })
    };
    b.append(be_customs.event(
        "consignment:BE-C-2024-0042",
        "ConsignmentDispatched",
        "2024-04-15",
        dispatch("BE-EL-2024-0101", "KE-EUC-2024-0007", kenya(200)),
    )?)?;
    b.append(be_customs.event(
        "euc:KE-EUC-2024-0007",
        "EndUserCertificateUsed",
        "2024-04-15",
        json!({ "quantity": 200, "consignment": "BE-C-2024-0042" }),
    )?)?;
    b.append(nl_customs.event(
        "consignment:BE-C-2024-0042",
        "TransitRecorded",
        "2024-04-18",
        json!({ "transit_state": "NL", "place": "Port of Rotterdam" }),
    )?)?;
    b.append(ke_customs.event(
        "consignment:BE-C-2024-0042",
        "ConsignmentImported",
        "2024-05-20",
        json!({ "importing_country": "KE", "customs_office": "Mombasa port" }),
    )?)?;
    b.append(ke_customs.event(
        "consignment:BE-C-2024-0042",
        "DeliveryVerified",
        "2024-05-25",
        json!({ "dvc_reference": "KE-DVC-2024-031", "received_weapons": kenya(200) }),
    )?)?;

    // A second shipment on a genuine certificate whose delivery is never verified: three
    // of its rifles are seized in Colombia and traced back (the Peru 1999 pattern).
    let diverted: Vec<String> = (200..250).map(weapon_id).collect();
    b.append(ke_ministry.event(
        "euc:KE-EUC-2024-0019",
        "EndUserCertificateIssued",
        "2024-03-10",
        euc("KE-EUC-2024-0019", 50),
    )?)?;
    b.append(fn_herstal.event(
        "licence:BE-EL-2024-0117",
        "ExportLicenceApplied",
        "2024-03-15",
        licence("KE-EUC-2024-0019", 50),
    )?)?;
    b.append(be_licensing.event(
        "licence:BE-EL-2024-0117",
        "ExportLicenceDecided",
        "2024-03-28",
        granted,
    )?)?;
    b.append(be_customs.event(
        "consignment:BE-C-2024-0057",
        "ConsignmentDispatched",
        "2024-06-03",
        dispatch("BE-EL-2024-0117", "KE-EUC-2024-0019", diverted.clone()),
    )?)?;
    for (i, id) in diverted.iter().take(3).enumerate() {
        b.append(co_police.event(&format!("weapon:{id}"), "WeaponSeized", "2025-02-11", json!({
            "seizing_authority": "Colombian National Police", "place": "Buenaventura",
            "circumstances": format!("Found in a container declared as machine parts (item {})", i + 1),
            "suspected_illicit": ["transferred_without_licence"]
        }))?)?;
    }
    let trace_request = |requesting: &str, requested: &str, n: u64, how: &str, place: &str| {
        json!({
            "requesting_state": requesting, "requested_state": requested, "weapon": weapon_id(n),
            "illicit_grounds": ["illicit_under_national_law"],
            "legal_justification": "Possession without authorisation; national arms law",
            "circumstances": { "how": how, "place": place, "description": "Seized in a criminal investigation" },
            "identification": { "manufacturer": "FN Herstal", "country_of_manufacture": "BE",
                                 "serial_number": serial(n), "model": MODELS[(n % 4) as usize].0 },
            "intended_use": "Criminal investigation and prosecution"
        })
    };
    b.append(co_police.event(
        "trace:CO-TR-2025-0031",
        "TraceRequested",
        "2025-02-14",
        trace_request("CO", "BE", 200, "seized", "Buenaventura"),
    )?)?;
    b.append(be_police.event(
        "trace:CO-TR-2025-0031",
        "TraceAcknowledged",
        "2025-02-15",
        json!({ "reference": "BE-TRACE-2025-77" }),
    )?)?;
    b.append(be_police.event("trace:CO-TR-2025-0031", "TraceResponded", "2025-02-27", json!({
        "responding_state": "BE", "kind": "full",
        "information": "Exported under licence BE-EL-2024-0117 on consignment BE-C-2024-0057 to the Kenya Defence Forces",
        "chain_of_custody": [
            { "holder": "FN Herstal", "country": "BE", "from": "2024-02-01", "to": "2024-06-03" },
            { "holder": "Demo Shipping Lines", "from": "2024-06-03" }
        ],
        "point_of_diversion": { "description": "In transit after export: delivery to Kenya never verified", "date": "2024-06-03" }
    }))?)?;

    // France seizes a rifle; Belgium refuses to answer for now, with its reason.
    b.append(fr_police.event(&weapon_stream(300), "WeaponSeized", "2025-06-01", json!({
        "seizing_authority": "Police nationale", "place": "Marseille",
        "circumstances": "Found during a search", "suspected_illicit": ["illicit_under_national_law"]
    }))?)?;
    b.append(fr_police.event(
        "trace:FR-TR-2025-0102",
        "TraceRequested",
        "2025-06-03",
        trace_request("FR", "BE", 300, "seized", "Marseille"),
    )?)?;
    b.append(be_police.event(
        "trace:FR-TR-2025-0102",
        "TraceResponded",
        "2025-06-20",
        json!({
            "responding_state": "BE", "kind": "delayed",
            "reason": "An ongoing judicial investigation in Belgium concerns the same supplier",
            "further_response_by": "2025-12-31"
        }),
    )?)?;
    // And asks about another, still unanswered.
    b.append(fr_police.event(&weapon_stream(301), "WeaponSeized", "2026-09-01", json!({
        "seizing_authority": "Police nationale", "place": "Lyon",
        "circumstances": "Handed over after an arrest", "suspected_illicit": ["illicit_under_national_law"]
    }))?)?;
    b.append(fr_police.event(
        "trace:FR-TR-2026-0007",
        "TraceRequested",
        "2026-09-02",
        trace_request("FR", "BE", 301, "seized", "Lyon"),
    )?)?;

    // Thefts, a recovery, destructions, an obliterated serial restored.
    for n in 310..315 {
        b.append(be_police.event(
            &weapon_stream(n),
            "WeaponReportedStolen",
            "2025-01-09",
            json!({
                "reported_by": "FN Herstal security", "place": "Herstal, finished-goods store",
                "circumstances": "Break-in during the night"
            }),
        )?)?;
    }
    b.append(be_police.event(
        &weapon_stream(310),
        "WeaponRecovered",
        "2025-03-02",
        json!({
            "place": "Liège", "circumstances": "Found during a house search"
        }),
    )?)?;
    for n in 320..330 {
        b.append(be_police.event(
            &weapon_stream(n),
            "WeaponDestroyed",
            "2025-10-15",
            json!({
                "method": "Cut and melted", "witness": "Federal Police arms unit",
                "certificate_number": format!("BE-DEST-2025-{n}")
            }),
        )?)?;
    }
    b.append(be_police.event(&weapon_stream(340), "WeaponSeized", "2025-04-04", json!({
        "seizing_authority": "Belgian Federal Police", "place": "Antwerp",
        "circumstances": "Serial number ground off", "suspected_illicit": ["illicit_under_national_law"],
        "observed": { "manufacturer": "FN Herstal", "obliterated_marks": true }
    }))?)?;
    b.append(be_lab.event(&weapon_stream(340), "SerialNumberRestored", "2025-04-20", json!({
        "laboratory": "National Institute of Criminalistics", "method": "Magnetic particle and etching",
        "restored_marks": [{ "component": "receiver", "text": format!("FN HERSTAL BELGIUM {}", serial(340)) }],
        "restored_serial_number": serial(340), "complete": true
    }))?)?;
    // A serial typed twice, then corrected.
    let typo = weapons;
    b.append(fn_herstal.event(&weapon_stream(typo), "WeaponMarked", "2024-02-02", json!({
        "manufacturer": "FN Herstal", "country_of_manufacture": "BE", "serial_number": serial(7),
        "model": "FNC", "calibre": "5.56x45mm", "category": "assault_rifles",
        "marks": [{ "component": "receiver", "text": "FN HERSTAL BELGIUM (see correction)" }]
    }))?)?;
    let typo_index = b.ledger.reader()?.tree_size()? - 1;
    b.append(fn_herstal.event(
        &weapon_stream(typo),
        "RecordCorrected",
        "2024-02-05",
        json!({
            "corrected_index": typo_index,
            "corrected_fields": { "serial_number": serial(typo) },
            "reason": "Serial number mistyped at entry (copied from the line above)"
        }),
    )?)?;
    let _ = auditor;

    // Tokens to try the API with.
    let token_file = crate::auth::default_token_file(&db);
    let mut tokens = Vec::new();
    for (who, role) in [
        ("be-court-of-audit", Role::Auditor),
        ("be-licensing", Role::Authority),
        ("ke-mod", Role::Authority),
        ("co-police", Role::Authority),
        ("fr-police", Role::Public),
    ] {
        let (token, _) =
            crate::auth::create_token(&token_file, &AuthorityId::parse(who)?, role, None)?;
        tokens.push((who.to_owned(), role, token));
    }
    b.ledger.close();
    Ok(Demo {
        db,
        log_key: log_key_path,
        token_file,
        tokens,
    })
}
