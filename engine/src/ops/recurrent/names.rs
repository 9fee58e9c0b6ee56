//! PyTorch's recurrent parameter names (`weight_ih_l0`, …, `bias_hh_l3_reverse`) as the
//! `&'static str` a [`ParamSpec`](crate::ops::ParamSpec) holds, for up to [`MAX_LAYERS`]
//! layers: far beyond the 1–4 layers recurrent networks use.

/// The most layers a recurrent op may stack.
pub const MAX_LAYERS: usize = 16;

macro_rules! layer_names {
    ($($l:literal),*) => {
        [$([
            [
                concat!("weight_ih_l", $l),
                concat!("weight_hh_l", $l),
                concat!("bias_ih_l", $l),
                concat!("bias_hh_l", $l),
            ],
            [
                concat!("weight_ih_l", $l, "_reverse"),
                concat!("weight_hh_l", $l, "_reverse"),
                concat!("bias_ih_l", $l, "_reverse"),
                concat!("bias_hh_l", $l, "_reverse"),
            ],
        ]),*]
    };
}

const NAMES: [[[&str; 4]; 2]; MAX_LAYERS] =
    layer_names!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

/// `[weight_ih, weight_hh, bias_ih, bias_hh]` of layer `l`, forward or reverse direction.
pub fn of(l: usize, reverse: bool) -> Option<[&'static str; 4]> {
    NAMES.get(l).map(|dirs| dirs[reverse as usize])
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_pytorch() {
        assert_eq!(
            super::of(0, false),
            Some(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
        );
        assert_eq!(super::of(15, true).unwrap()[3], "bias_hh_l15_reverse");
        assert_eq!(super::of(16, false), None);
    }
}
