//! Who may emit what (DOMAIN.md invariant 7, DESIGN.md "Authorities, keys and access"):
//! for each event type of the catalogue, the kinds of authority allowed to emit it.
//!
//! The kind says what an authority does; the State it acts for is checked separately,
//! field by field, by the deciders (`jurisdiction_mismatch`): a customs office may record
//! an import, but only into its own State. Administrators run the ledger (registry,
//! points of contact, policies) and record nothing about weapons; auditors read and
//! never write.

use crate::registry::AuthorityKind;
use AuthorityKind::*;

/// The kinds of authority that may emit `event_type`; empty for a type outside the
/// catalogue (which never gets this far).
pub fn kinds_allowed(event_type: &str) -> &'static [AuthorityKind] {
    match event_type {
        "PointOfContactDesignated" => &[Administrator, Ministry],
        "BrokerRegistered" | "BrokerRevoked" => &[Licensing, Ministry],
        "PolicyInstalled" | "PolicyActivated" | "PolicyRetired" => {
            &[Administrator, Ministry, Licensing]
        }
        // ITI 8(a): the manufacturer marks; a licensing authority may record it for one.
        "WeaponMarked" => &[Manufacturer, Licensing],
        "WeaponImportMarked" => &[Customs, Licensing, Dealer],
        "WeaponStateMarked" => &[Ministry, Licensing, Police, Customs],
        "WeaponTransferredToCivilianUse" => &[Ministry, Licensing],
        "LegacyRecordImported" => &[Administrator, Licensing, Police],
        "DomesticTransferRecorded" => &[Licensing, Police, Dealer, Manufacturer],
        "WeaponReportedLost" | "WeaponReportedStolen" => {
            &[Police, Licensing, Ministry, Dealer, Manufacturer, Customs]
        }
        "WeaponRecovered" | "WeaponSeized" | "WeaponFound" | "WeaponSurrendered" => {
            &[Police, Customs, InterpolNcb]
        }
        "WeaponConfiscated" => &[Police, Customs, Ministry],
        "SerialNumberRestored" => &[Laboratory, Police],
        // Firearms Protocol art. 9: deactivation is verified by a competent authority.
        "WeaponDeactivated" => &[Licensing, Police, Laboratory],
        "WeaponDestroyed" => &[Police, Ministry, Licensing, Customs],
        "RecordCorrected" => &[
            Administrator,
            Licensing,
            Police,
            Customs,
            Manufacturer,
            Dealer,
            Ministry,
        ],
        "DuplicateWeaponsLinked" => &[Police, Licensing, InterpolNcb, Administrator],
        "EvidenceAttached" => &[
            Police,
            Licensing,
            Customs,
            InterpolNcb,
            Laboratory,
            Ministry,
        ],
        "ExportLicenceApplied" => &[Manufacturer, Dealer, Broker, Licensing],
        "ExportLicenceDecided" | "ImportLicenceIssued" => &[Licensing],
        "TransitNoObjectionRecorded" => &[Licensing, Ministry],
        "PolicyRequirementMet" => &[Licensing, Ministry],
        "LicenceSuspended" | "LicenceRevoked" => &[Licensing],
        "DenialNotified" => &[Licensing, Ministry],
        "EndUserCertificateIssued" | "EndUserCertificateRevoked" => &[Licensing, Ministry],
        "EndUserCertificateVerified" | "EndUserCertificateVerificationFailed" => {
            &[Licensing, Ministry, Customs]
        }
        "EndUserCertificateUsed" => &[Licensing, Customs],
        "ReexportConsentGranted" | "ReexportConsentDenied" => &[Licensing, Ministry],
        "ConsignmentDispatched" => &[Customs, Licensing, Manufacturer, Dealer],
        "TransitRecorded" | "ConsignmentImported" => &[Customs],
        "DeliveryVerified" => &[Customs, Licensing],
        "PostShipmentVerificationConducted" => &[Licensing, Ministry],
        // A manufacturer cannot answer a trace: States do, through their points of contact.
        "TraceRequested"
        | "TraceAcknowledged"
        | "TraceInformationRequested"
        | "TraceInformationSupplied"
        | "TraceResponded"
        | "TraceForwarded"
        | "TraceClosed" => &[Police, InterpolNcb, Licensing, Ministry],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CATALOGUE;

    #[test]
    fn every_catalogue_type_has_an_allow_list_and_no_auditor_writes() {
        for entry in CATALOGUE {
            let kinds = kinds_allowed(entry.event_type);
            assert!(!kinds.is_empty(), "{} has no allow-list", entry.event_type);
            assert!(!kinds.contains(&Auditor), "{}", entry.event_type);
        }
        assert!(kinds_allowed("NoSuchEvent").is_empty());
        assert!(!kinds_allowed("TraceResponded").contains(&Manufacturer));
        assert!(!kinds_allowed("EndUserCertificateIssued").contains(&Customs));
    }
}
