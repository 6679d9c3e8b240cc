//! TEXMEX `.fvecs` files: round trip through the resolver, and truncation.

use omenbench::data::texmex::{read_fvecs, write_fvecs};
use omenbench::data::{groundtruth, Resolver};

#[test]
fn fvecs_round_trip_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.fvecs");
    let data: Vec<f32> = (0..40).map(|i| i as f32 * 0.5).collect();
    write_fvecs(&p, 4, &data).unwrap();
    let v = read_fvecs(&p, None).unwrap();
    assert_eq!((v.dims, v.rows()), (4, 10));
    assert_eq!(v.data, data);
    assert_eq!(read_fvecs(&p, Some(3)).unwrap().data, data[..12]);
    // Exactly 4 + 16 bytes per row.
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 10 * 20);
}

#[test]
fn truncated_and_inconsistent_files_are_reported_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.fvecs");
    write_fvecs(&p, 4, &[1.0; 12]).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 6]).unwrap();
    let e = read_fvecs(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("cut.fvecs")
            && e.contains("truncated at byte offset 44 (row 2)")
            && e.contains("found 10"),
        "{e}"
    );
    std::fs::write(&p, &bytes[..42]).unwrap();
    let e = read_fvecs(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("offset 40 (row 2)") && e.contains("dimension prefix"),
        "{e}"
    );

    let mut mixed = bytes.clone();
    mixed[20..24].copy_from_slice(&3i32.to_le_bytes());
    std::fs::write(&p, &mixed).unwrap();
    let e = read_fvecs(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("row 1") && e.contains("dimension 3 but row 0 has 4"),
        "{e}"
    );

    std::fs::write(&p, b"").unwrap();
    assert!(read_fvecs(&p, None)
        .unwrap_err()
        .to_string()
        .contains("empty"));
}

#[test]
fn resolver_takes_base_and_query_fvecs() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.fvecs");
    let query = dir.path().join("query.fvecs");
    let b: Vec<f32> = (0..200).map(|i| ((i * 37) % 101) as f32).collect();
    write_fvecs(&base, 2, &b).unwrap();
    write_fvecs(&query, 2, &[10.0, 20.0, 50.5, 3.0]).unwrap();
    let r = Resolver {
        cache: dir.path().join("cache"),
        fetch: false,
        ..Resolver::from_env()
    };
    let spec = format!("{}:{}", base.display(), query.display());
    let d = r.resolve(&spec, Some(60), None, false).unwrap();
    assert_eq!((d.n_train(), d.n_test(), d.k(), d.dims), (60, 2, 60, 2));
    let (nb, dist) =
        groundtruth::compute(&b[..120], &d.test, 2, omendb::Metric::L2, 60, None).unwrap();
    assert_eq!(d.neighbors, nb);
    assert_eq!(d.distances, dist);
    // Distances are Euclidean, not squared.
    let q = [10.0f32, 20.0];
    let id = d.neighbors[0][0] as usize;
    let want = ((b[2 * id] - q[0]).powi(2) + (b[2 * id + 1] - q[1]).powi(2)).sqrt();
    assert!((d.distances[0][0] - want).abs() < 1e-4);

    let other = dir.path().join("three.fvecs");
    write_fvecs(&other, 3, &[1.0; 6]).unwrap();
    let bad = format!("{}:{}", base.display(), other.display());
    let e = format!("{:#}", r.resolve(&bad, None, None, false).unwrap_err());
    assert!(
        e.contains("dimension mismatch") && e.contains("three.fvecs"),
        "{e}"
    );
}
