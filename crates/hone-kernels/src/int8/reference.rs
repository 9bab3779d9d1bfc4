//! The scalar reference every fast path is held to: the textbook triple loop
//! on unpacked int8, accumulated in i32.

/// `C[m][n] = Σ_k A[m][k] · B[k][n]`, A `m × k`, B `k × n`, row-major.
pub fn gemm_i32(a: &[i8], b: &[i8], m: usize, k: usize, n: usize) -> Vec<i32> {
    assert_eq!(a.len(), m * k, "A is m × k");
    assert_eq!(b.len(), k * n, "B is k × n");
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for kk in 0..k {
            let av = a[i * k + kk] as i32;
            for j in 0..n {
                c[i * n + j] += av * b[kk * n + j] as i32;
            }
        }
    }
    c
}
