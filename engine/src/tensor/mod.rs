//! `Tensor`: an N-d f32 array with shared, contiguous, row-major storage.
//!
//! Cloning a tensor clones an `Arc`, not the data, so the ECS can hand the same activation
//! to several consumers (and to the statistics system) for free. Writing goes through
//! [`Tensor::data_mut`], which copies only if the storage is shared (copy-on-write).

pub mod conv;
mod matmul;
mod random;
mod simd;

pub use matmul::{Layout, PARALLEL_MIN_MACS, matmul_into, matmul_with, parallelism_for};
pub use random::Rng;
pub use simd::vectorized;

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// Elementwise work below this many elements stays on the calling thread.
pub const PARALLEL_MIN_ELEMS: usize = 1 << 16;
/// Chunk size for parallel elementwise work: large enough to amortise scheduling.
const PAR_CHUNK: usize = 1 << 14;

#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: Arc<Vec<f32>>,
}

/// Rank up to this is stored inline: cloning a tensor (done for every input of every node
/// each step) then allocates nothing.
const INLINE_RANK: usize = 6;

/// A tensor's dimensions: inline for the usual ranks, on the heap beyond.
#[derive(Clone)]
enum Shape {
    Inline(u8, [usize; INLINE_RANK]),
    Heap(Vec<usize>),
}

impl Shape {
    fn from(dims: &[usize]) -> Shape {
        if dims.len() <= INLINE_RANK {
            let mut a = [0; INLINE_RANK];
            a[..dims.len()].copy_from_slice(dims);
            Shape::Inline(dims.len() as u8, a)
        } else {
            Shape::Heap(dims.to_vec())
        }
    }
}

impl std::ops::Deref for Shape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        match self {
            Shape::Inline(n, a) => &a[..*n as usize],
            Shape::Heap(v) => v,
        }
    }
}

impl PartialEq for Shape {
    fn eq(&self, other: &Shape) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?} ", self.shape)?;
        if self.data.len() <= 16 {
            write!(f, "{:?}", &self.data[..])
        } else {
            write!(f, "{:?}…", &self.data[..16])
        }
    }
}

/// Number of elements of a shape (1 for a scalar `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Tensor {
    /// A tensor from a shape and its row-major data; errors if the lengths disagree.
    pub fn new(shape: &[usize], data: Vec<f32>) -> Result<Self> {
        if numel(shape) != data.len() {
            return Err(Error::bad_shape(
                "Tensor",
                shape,
                format!(
                    "shape holds {} elements but data has {}",
                    numel(shape),
                    data.len()
                ),
            ));
        }
        Ok(Tensor {
            shape: Shape::from(shape),
            data: Arc::new(data),
        })
    }

    pub fn full(shape: &[usize], value: f32) -> Self {
        Tensor {
            shape: Shape::from(shape),
            data: Arc::new(vec![value; numel(shape)]),
        }
    }

    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, 0.0)
    }

    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, 1.0)
    }

    pub fn scalar(value: f32) -> Self {
        Self::full(&[], value)
    }

    /// Elements `f(i)` for flat index `i`.
    pub fn from_fn(shape: &[usize], f: impl FnMut(usize) -> f32) -> Self {
        Tensor {
            shape: Shape::from(shape),
            data: Arc::new((0..numel(shape)).map(f).collect()),
        }
    }

    /// Uniform in [lo, hi), from a seeded stream.
    pub fn uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| rng.uniform(lo, hi))
    }

    /// Normal(mean, std), from a seeded stream.
    pub fn normal(shape: &[usize], mean: f32, std: f32, rng: &mut Rng) -> Self {
        Self::from_fn(shape, |_| mean + std * rng.normal())
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Size of dimension `i`; negative `i` counts from the end.
    pub fn dim(&self, i: isize) -> usize {
        let r = self.shape.len() as isize;
        let idx = if i < 0 { r + i } else { i };
        self.shape[idx as usize]
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Mutable access; copies the storage first only if another tensor shares it.
    pub fn data_mut(&mut self) -> &mut [f32] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }

    /// The data as an owned vector, without a copy when this tensor is its only owner.
    pub fn into_vec(self) -> Vec<f32> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// True when both tensors share one storage (no copy was made between them).
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.data.len() != 1 {
            return Err(Error::bad_shape(
                "item",
                &self.shape,
                "expected one element",
            ));
        }
        Ok(self.data[0])
    }

    /// Same data, new shape (no copy). Errors if the element counts differ.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if numel(shape) != self.numel() {
            return Err(Error::shape_mismatch(
                "reshape",
                "element counts differ",
                &self.shape,
                shape,
            ));
        }
        Ok(Tensor {
            shape: Shape::from(shape),
            data: self.data.clone(),
        })
    }

    fn check_same_shape(&self, other: &Tensor, op: &str) -> Result<()> {
        if self.shape != other.shape {
            return Err(Error::shape_mismatch(
                op,
                "operands must have the same shape",
                &self.shape,
                &other.shape,
            ));
        }
        Ok(())
    }

    /// `f` applied to every element (parallel for large tensors).
    pub fn map(&self, f: impl Fn(f32) -> f32 + Sync + Send) -> Tensor {
        Tensor {
            shape: self.shape.clone(),
            data: Arc::new(map_new(&self.data, f)),
        }
    }

    /// `f(a, b)` elementwise over two same-shaped tensors.
    pub fn zip_map(
        &self,
        other: &Tensor,
        op: &str,
        f: impl Fn(f32, f32) -> f32 + Sync + Send,
    ) -> Result<Tensor> {
        self.check_same_shape(other, op)?;
        Ok(Tensor {
            shape: self.shape.clone(),
            data: Arc::new(zip_map_new(&self.data, &other.data, f)),
        })
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.zip_map(other, "add", |a, b| a + b)
    }

    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.zip_map(other, "sub", |a, b| a - b)
    }

    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.zip_map(other, "mul", |a, b| a * b)
    }

    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.zip_map(other, "div", |a, b| a / b)
    }

    pub fn scale(&self, s: f32) -> Tensor {
        self.map(move |x| x * s)
    }

    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.map(move |x| x + s)
    }

    /// In place: `self += alpha * other` (gradient accumulation, optimizer steps).
    pub fn axpy(&mut self, alpha: f32, other: &Tensor) -> Result<()> {
        self.check_same_shape(other, "axpy")?;
        let dst = Arc::make_mut(&mut self.data);
        let src = &other.data;
        if dst.len() >= PARALLEL_MIN_ELEMS {
            dst.par_chunks_mut(PAR_CHUNK)
                .zip(src.par_chunks(PAR_CHUNK))
                .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d += alpha * s));
        } else {
            dst.iter_mut()
                .zip(src.iter())
                .for_each(|(d, s)| *d += alpha * s);
        }
        Ok(())
    }

    /// Sum of all elements, accumulated in f64.
    pub fn sum(&self) -> f32 {
        sum_f64(&self.data) as f32
    }

    pub fn mean(&self) -> f32 {
        if self.data.is_empty() {
            return 0.0;
        }
        (sum_f64(&self.data) / self.data.len() as f64) as f32
    }

    pub fn max(&self) -> f32 {
        self.data.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }

    pub fn min(&self) -> f32 {
        self.data.iter().copied().fold(f32::INFINITY, f32::min)
    }

    /// Squared L2 norm, accumulated in f64.
    pub fn norm_sq(&self) -> f64 {
        self.data.iter().map(|&x| x as f64 * x as f64).sum()
    }

    /// View as rows × cols where cols is the last dimension (a `[..., C]` tensor).
    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = self.shape.last().copied().unwrap_or(1);
        let rows = self.numel().checked_div(cols).unwrap_or(0);
        (rows, cols)
    }

    /// Sum over the leading dimension of a `[N, ...]` tensor: result shape `[...]`.
    /// (Bias gradients: the sum of dY over the batch.)
    pub fn sum_rows(&self) -> Result<Tensor> {
        if self.rank() == 0 {
            return Err(Error::bad_shape("sum_rows", &self.shape, "needs rank ≥ 1"));
        }
        let n = self.shape[0];
        let inner = self.numel().checked_div(n).unwrap_or(0);
        let mut acc = vec![0.0f64; inner];
        let data = &self.data[..n * inner];
        // row by row in order (the same sums as a scalar loop), each row one vector pass
        vectorized(
            #[inline(always)]
            || {
                let acc = &mut acc[..inner];
                for r in 0..n {
                    let row = &data[r * inner..][..inner];
                    for j in 0..inner {
                        acc[j] += row[j] as f64;
                    }
                }
            },
        );
        Tensor::new(
            &self.shape[1..],
            acc.into_iter().map(|x| x as f32).collect(),
        )
    }

    /// Index of the largest value in each row of a `[rows, cols]` view (predicted class).
    pub fn argmax_rows(&self) -> Vec<usize> {
        let (_, cols) = self.rows_cols();
        if cols == 0 {
            return Vec::new();
        }
        self.data
            .chunks_exact(cols)
            .map(|row| {
                let mut best = 0;
                for (i, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = i;
                    }
                }
                best
            })
            .collect()
    }

    /// 2-D matrix product `op(A)·op(B)`, where `op` transposes when the flag is set.
    /// Shapes are the stored shapes; no transposed copy is ever made.
    pub fn matmul_t(&self, trans_a: bool, other: &Tensor, trans_b: bool) -> Result<Tensor> {
        if self.rank() != 2 || other.rank() != 2 {
            return Err(Error::shape_mismatch(
                "matmul",
                "operands must be 2-D",
                &self.shape,
                &other.shape,
            ));
        }
        let (m, k) = if trans_a {
            (self.shape[1], self.shape[0])
        } else {
            (self.shape[0], self.shape[1])
        };
        let (k2, n) = if trans_b {
            (other.shape[1], other.shape[0])
        } else {
            (other.shape[0], other.shape[1])
        };
        if k != k2 {
            return Err(Error::shape_mismatch(
                "matmul",
                "inner dimensions differ",
                &self.shape,
                &other.shape,
            ));
        }
        let layout = |t: bool| {
            if t {
                Layout::Transposed
            } else {
                Layout::Normal
            }
        };
        let mut out = vec![0.0; m * n];
        matmul_into(
            &mut out,
            &self.data,
            layout(trans_a),
            &other.data,
            layout(trans_b),
            m,
            k,
            n,
            false,
        );
        Tensor::new(&[m, n], out)
    }

    /// 2-D matrix product `A·B`.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        self.matmul_t(false, other, false)
    }

    /// 2-D transpose (a copy: use `matmul_t` to multiply by a transpose without one).
    pub fn transpose2d(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::bad_shape(
                "transpose2d",
                &self.shape,
                "needs a 2-D tensor",
            ));
        }
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut out = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                out[j * r + i] = self.data[i * c + j];
            }
        }
        Tensor::new(&[c, r], out)
    }

    /// Largest absolute elementwise difference (tests and parity checks).
    pub fn max_abs_diff(&self, other: &Tensor) -> Result<f32> {
        self.check_same_shape(other, "max_abs_diff")?;
        Ok(self
            .data
            .iter()
            .zip(other.data.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max))
    }

    /// Count of NaN and ±Inf elements.
    pub fn non_finite_count(&self) -> usize {
        self.data.iter().filter(|x| !x.is_finite()).count()
    }
}

/// `f(src[i])` into a new vector, parallel above [`PARALLEL_MIN_ELEMS`]. The output is
/// written once, not zero-filled first: for the megabyte activations of a CNN that
/// zero-fill was a serial memset costing about as much as the op itself.
pub fn map_new(src: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Vec<f32> {
    let fill = |dst: &mut [MaybeUninit<f32>], src: &[f32]| {
        // an indexed loop: iterator adapters are not always inlined, and the loop must be
        // inside the kernel `vectorized` compiles per vector unit
        vectorized(
            #[inline(always)]
            || {
                let src = &src[..dst.len()];
                for i in 0..dst.len() {
                    dst[i].write(f(src[i]));
                }
            },
        )
    };
    let mut out = Vec::with_capacity(src.len());
    let dst = &mut out.spare_capacity_mut()[..src.len()];
    if src.len() >= PARALLEL_MIN_ELEMS {
        dst.par_chunks_mut(PAR_CHUNK)
            .zip(src.par_chunks(PAR_CHUNK))
            .for_each(|(d, s)| fill(d, s));
    } else {
        fill(dst, src);
    }
    // SAFETY: the capacity is src.len(), and the zips above pair every one of the first
    // src.len() slots with an element of `src` (equal lengths, equal chunking), so each
    // slot was written.
    unsafe { out.set_len(src.len()) };
    out
}

/// `f(a[i], b[i])` into a new vector, like [`map_new`]. Panics if the lengths differ
/// (callers check shapes first).
pub fn zip_map_new(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "zip_map_new: lengths differ");
    let fill = |dst: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32]| {
        // an indexed loop, as in `map_new`
        vectorized(
            #[inline(always)]
            || {
                let (a, b) = (&a[..dst.len()], &b[..dst.len()]);
                for i in 0..dst.len() {
                    dst[i].write(f(a[i], b[i]));
                }
            },
        )
    };
    let mut out = Vec::with_capacity(a.len());
    let dst = &mut out.spare_capacity_mut()[..a.len()];
    if a.len() >= PARALLEL_MIN_ELEMS {
        dst.par_chunks_mut(PAR_CHUNK)
            .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
            .for_each(|(d, (a, b))| fill(d, a, b));
    } else {
        fill(dst, a, b);
    }
    // SAFETY: as in `map_new`: a and b have the same length as the written prefix, so the
    // zips cover every one of its slots.
    unsafe { out.set_len(a.len()) };
    out
}

/// Calls `f(i, block)` for the `i`-th `block`-long piece of `out` (the last may be
/// shorter), on rayon's threads when `out` is large enough to repay them: the shape of
/// most gather and scatter kernels, which fill each output row from its own inputs.
pub fn for_each_block_mut(
    out: &mut [f32],
    block: usize,
    f: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    let block = block.max(1);
    if out.len() >= PARALLEL_MIN_ELEMS {
        out.par_chunks_mut(block)
            .enumerate()
            .for_each(|(i, b)| f(i, b));
    } else {
        out.chunks_mut(block).enumerate().for_each(|(i, b)| f(i, b));
    }
}

/// Sum accumulated in f64 so long reductions don't drift. Chunk partials are added in
/// order, so the result does not depend on how rayon scheduled the chunks.
pub fn sum_f64(xs: &[f32]) -> f64 {
    if xs.len() >= PARALLEL_MIN_ELEMS {
        let partials: Vec<f64> = xs
            .par_chunks(PAR_CHUNK)
            .map(|c| c.iter().map(|&x| x as f64).sum::<f64>())
            .collect();
        partials.iter().sum()
    } else {
        xs.iter().map(|&x| x as f64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_and_zip_map_write_every_element_serial_and_parallel() {
        // below, at a chunk boundary and above the parallel threshold, with a ragged tail
        for n in [
            0,
            5,
            PARALLEL_MIN_ELEMS,
            PARALLEL_MIN_ELEMS + PAR_CHUNK * 3 + 7,
        ] {
            let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| 0.5 * i as f32).collect();
            let m = map_new(&a, |x| x * 2.0 + 1.0);
            assert_eq!(m.len(), n);
            assert!(
                m.iter()
                    .enumerate()
                    .all(|(i, &y)| y == i as f32 * 2.0 + 1.0)
            );
            let z = zip_map_new(&a, &b, |x, y| x - y);
            assert_eq!(z.len(), n);
            assert!(z.iter().enumerate().all(|(i, &y)| y == 0.5 * i as f32));
        }
    }

    #[test]
    fn clone_and_reshape_share_storage() {
        let t = Tensor::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let c = t.clone();
        let r = t.reshape(&[3, 2]).unwrap();
        assert!(t.shares_storage(&c) && t.shares_storage(&r));
        assert_eq!(r.shape(), &[3, 2]);
        assert!(t.reshape(&[4, 2]).is_err());
    }

    #[test]
    fn copy_on_write() {
        let t = Tensor::zeros(&[4]);
        let mut u = t.clone();
        u.data_mut()[0] = 1.0;
        assert_eq!(t.data()[0], 0.0);
        assert_eq!(u.data()[0], 1.0);
    }

    #[test]
    fn elementwise_and_reductions() {
        let a = Tensor::new(&[2, 2], vec![1., -2., 3., 4.]).unwrap();
        let b = Tensor::ones(&[2, 2]);
        assert_eq!(a.add(&b).unwrap().data(), &[2., -1., 4., 5.]);
        assert_eq!(a.mul(&a).unwrap().data(), &[1., 4., 9., 16.]);
        assert_eq!(a.sum(), 6.0);
        assert_eq!(a.max(), 4.0);
        assert_eq!(a.min(), -2.0);
        assert_eq!(a.sum_rows().unwrap().data(), &[4., 2.]);
        assert_eq!(a.argmax_rows(), vec![0, 1]);
        let err = a.add(&Tensor::ones(&[3])).unwrap_err().to_string();
        assert!(err.contains("[2, 2]") && err.contains("[3]"), "{err}");
    }

    #[test]
    fn large_elementwise_matches_serial() {
        let mut rng = Rng::seed(2);
        let a = Tensor::normal(&[300, 400], 0.0, 1.0, &mut rng);
        let b = Tensor::normal(&[300, 400], 0.0, 1.0, &mut rng);
        let c = a.add(&b).unwrap();
        for i in (0..a.numel()).step_by(997) {
            assert_eq!(c.data()[i], a.data()[i] + b.data()[i]);
        }
        let mut d = a.clone();
        d.axpy(2.0, &b).unwrap();
        assert_eq!(d.data()[12345], a.data()[12345] + 2.0 * b.data()[12345]);
    }

    #[test]
    fn matmul_shapes_and_errors() {
        let a = Tensor::new(&[2, 3], vec![1., 2., 3., 4., 5., 6.]).unwrap();
        let b = Tensor::new(&[3, 1], vec![1., 0., -1.]).unwrap();
        assert_eq!(a.matmul(&b).unwrap().data(), &[-2., -2.]);
        // Aᵀ·A is 3×3
        assert_eq!(a.matmul_t(true, &a, false).unwrap().shape(), &[3, 3]);
        // A·Aᵀ is 2×2
        let aat = a.matmul_t(false, &a, true).unwrap();
        assert_eq!(aat.data(), &[14., 32., 32., 77.]);
        let err = a.matmul(&a).unwrap_err().to_string();
        assert!(err.contains("matmul") && err.contains("[2, 3]"), "{err}");
    }
}
