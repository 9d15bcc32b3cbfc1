//! RISC Zero's receipt claim digest, as the mock verifier checks it.
//!
//! contracts/test/vectors/journals.json records, for each journal, the digest of
//! `ReceiptClaim::ok(imageId, journal)` (computed by coprocessor.contracts in Python; forge checks
//! contracts/ReceiptClaim.sol against the same file). Here risc0-zkvm computes it, and an
//! executed guest's own claim (what a real receipt of that run proves) is checked to be that
//! `ok` claim, so a mock seal names exactly the claim a real proof would.

use std::path::{Path, PathBuf};

use risc0_zkvm::sha::{Digest, Digestible};
use risc0_zkvm::{local_executor, ExecutorEnv, ExitCode, ReceiptClaim};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let digits = text.strip_prefix("0x").expect("hex strings start with 0x");
    assert!(digits.len().is_multiple_of(2), "odd-length hex {text}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn digest_of(text: &str) -> Digest {
    Digest::try_from(hex_bytes(text).as_slice()).expect("32-byte digest")
}

fn vectors() -> Vec<serde_json::Value> {
    let path = repo_root().join("contracts/test/vectors/journals.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: serde_json::Value = serde_json::from_str(&text).expect("journals.json is JSON");
    let vectors = file["vectors"].as_array().expect("a vectors array").clone();
    assert_eq!(Some(vectors.len() as u64), file["count"].as_u64(), "count");
    assert!(!vectors.is_empty(), "no vectors");
    vectors
}

#[test]
fn ok_claim_digest_matches_every_vector() {
    for vector in vectors() {
        let name = vector["name"].as_str().expect("name");
        let field = |key: &str| {
            vector[key]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {key}"))
        };
        let journal = hex_bytes(field("journal"));
        let image_id = digest_of(field("imageId"));
        assert_eq!(
            journal.digest(),
            digest_of(field("journalDigest")),
            "{name}: sha256(journal)"
        );
        let claim = ReceiptClaim::ok(image_id, journal);
        assert_eq!(
            claim.digest(),
            digest_of(field("claimDigest")),
            "{name}: claim digest"
        );
    }
}

#[test]
fn executed_guest_claims_exactly_the_ok_claim() {
    let path = repo_root().join("build/guests/echo.bin");
    let blob = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{} ({e}): run `make guests`", path.display());
    });
    let image_id = risc0_zkvm::compute_image_id(&blob).expect("image ID");
    let input = b"claim digest test".to_vec();
    let env = ExecutorEnv::builder()
        .stdin(input.as_slice())
        .build()
        .expect("executor env");
    let info = local_executor()
        .execute(env, &blob)
        .expect("echo guest runs");
    assert_eq!(info.exit_code, ExitCode::Halted(0));
    let claim = info.receipt_claim.expect("the session's receipt claim");
    let journal = info.journal.bytes.clone();
    assert!(!journal.is_empty(), "echo commits a journal");
    assert_eq!(
        claim.digest(),
        ReceiptClaim::ok(image_id, journal).digest(),
        "a mock seal of (imageId, journal) names the claim a real receipt of this run proves"
    );
}
