//! 2-D pooling and its shared window geometry.

pub mod adaptive_avg_pool2d;
pub mod average;
pub mod avg_pool2d;
pub mod geometry;
pub mod max_pool2d;

pub use adaptive_avg_pool2d::AdaptiveAvgPool2d;
pub use avg_pool2d::AvgPool2d;
pub use max_pool2d::MaxPool2d;

#[cfg(test)]
pub(crate) mod tests {
    use crate::ops::testing::*;

    /// Runs `p` on a batch big enough for the parallel path, with incoming gradient
    /// `grad(output shape)`, and checks that planes 0, 17 and 63 give exactly what each
    /// gives alone (the serial path, with that plane of the gradient): outputs and input
    /// gradients. Returns the batch's output and input gradient.
    pub(crate) fn assert_planes_match_alone(
        p: &dyn Layer,
        big: &Tensor,
        grad: impl Fn(&[usize]) -> Tensor,
    ) -> (Tensor, Tensor) {
        assert!(big.numel() >= crate::tensor::PARALLEL_MIN_ELEMS);
        let f = p.forward(&Ctx::eval(), &[big], &[]).unwrap();
        let gy = grad(f.output.shape());
        let b = p.backward(&Ctx::eval(), &[big], &[], &f, &gy).unwrap();
        let dx = b.inputs[0].clone().unwrap();
        let (planes, plane) = (big.dim(0) * big.dim(1), big.dim(2) * big.dim(3));
        let out_plane = f.output.numel() / planes;
        for c in [0, 17, 63] {
            let shape = [1, 1, big.dim(2), big.dim(3)];
            let xs = Tensor::new(&shape, big.data()[c * plane..][..plane].to_vec()).unwrap();
            let fs = p.forward(&Ctx::eval(), &[&xs], &[]).unwrap();
            let ys = &f.output.data()[c * out_plane..][..out_plane];
            assert_eq!(fs.output.data(), ys);
            let gs = gy.data()[c * out_plane..][..out_plane].to_vec();
            let gs = Tensor::new(fs.output.shape(), gs).unwrap();
            let bs = p.backward(&Ctx::eval(), &[&xs], &[], &fs, &gs).unwrap();
            let dxs = bs.inputs[0].as_ref().unwrap();
            assert_eq!(dxs.data(), &dx.data()[c * plane..][..plane]);
        }
        (f.output, dx)
    }
}
