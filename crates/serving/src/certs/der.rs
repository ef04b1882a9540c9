//! The little DER a client certificate with several `O=`
//! attributes needs: encoding a subject name, swapping it into a certificate
//! rcgen made, and signing the result again with the issuer's key.
//!
//! Only definite lengths and single-byte tags occur in the certificates
//! rcgen writes, so that is all this reads.

use rcgen::{KeyPair, SigningKey};

use crate::error::{Error, Result};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const BIT_STRING: u8 = 0x03;
/// id-at-commonName, 2.5.4.3.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-at-organizationName, 2.5.4.10.
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

/// A subject name with one RDN per organization, then the common name, as
/// Go's `pkix.Name` orders them.
pub(super) fn encode_name(common_name: &str, organizations: &[String]) -> Vec<u8> {
    let attribute = |oid: &[u8], value: &str| {
        let pair = [tlv(OID, oid), tlv(UTF8_STRING, value.as_bytes())].concat();
        tlv(SET, &tlv(SEQUENCE, &pair))
    };
    let mut rdns = Vec::new();
    for organization in organizations {
        rdns.extend(attribute(OID_ORGANIZATION, organization));
    }
    rdns.extend(attribute(OID_COMMON_NAME, common_name));
    tlv(SEQUENCE, &rdns)
}

/// Replaces the subject of the DER certificate `cert` with `subject` (an
/// encoded Name) and signs it again with `key`, the key that signed it.
pub(super) fn replace_subject(cert: &[u8], subject: &[u8], key: &KeyPair) -> Result<Vec<u8>> {
    let malformed = || Error::Tls("malformed generated certificate".to_owned());
    let (_, certificate, _) = read_tlv(cert).ok_or_else(malformed)?;
    let (_, tbs, rest) = read_tlv(certificate).ok_or_else(malformed)?;
    let (_, _, after_algorithm) = read_tlv(rest).ok_or_else(malformed)?;
    let signature_algorithm = &rest[..rest.len() - after_algorithm.len()];

    // TBSCertificate: [0] version, serial, signature, issuer, validity,
    // subject, ... — the subject is the sixth element.
    let mut fields = Vec::new();
    let mut input = tbs;
    while !input.is_empty() {
        let (_, _, next) = read_tlv(input).ok_or_else(malformed)?;
        fields.push(&input[..input.len() - next.len()]);
        input = next;
    }
    let subject_field = fields.get_mut(5).ok_or_else(malformed)?;
    *subject_field = subject;
    let tbs = tlv(SEQUENCE, &fields.concat());

    let signature = key.sign(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let body = [tbs, signature_algorithm.to_vec(), tlv(BIT_STRING, &bits)].concat();
    Ok(tlv(SEQUENCE, &body))
}

/// One tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
    out.extend(content);
    out
}

/// Reads one TLV: its tag, its content and what follows it.
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > std::mem::size_of::<usize>() || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![7u8; len];
            let encoded = tlv(SEQUENCE, &content);
            let (tag, got, rest) = read_tlv(&encoded).unwrap();
            assert_eq!((tag, got.len(), rest.len()), (SEQUENCE, len, 0));
        }
        assert!(read_tlv(&[SEQUENCE, 0x05, 1, 2]).is_none());
        assert!(read_tlv(&[SEQUENCE, 0x80]).is_none());
    }
}
