//! Every op's one-line doc and config fields, the data behind [`schema()`](super::schema()):
//! one table, so the wording stays consistent and is reviewed in one place. The registry
//! requires an entry here for every op, and a test checks each against what the graph
//! format accepts (names, required fields, defaults).
// One field per line reads as the table it is.
#![cfg_attr(rustfmt, rustfmt::skip)]

use super::schema::{Describe, FieldSchema, REDUCTION};
use super::dense::{Linear, Embedding};
use super::conv::{Conv2d, ConvTranspose2d};
use super::pool::{MaxPool2d, AvgPool2d, AdaptiveAvgPool2d};
use super::norm::{BatchNorm1d, BatchNorm2d, LayerNorm};
use super::regularization::{Dropout, Reparameterize};
use super::recurrent::{Lstm, Gru, Rnn};
use super::attention::{MultiheadAttention, TransformerEncoderLayer, PositionalEmbedding};
use super::activation::{Relu, LeakyRelu, Elu, Gelu, Silu, Sigmoid, Tanh, Softmax, LogSoftmax};
use super::shape::{Flatten, Reshape, PixelShuffle, Upsample, Detach, Select, Slice, Transpose, Permute};
use super::reduce::{Sum, Mean};
use super::merge::{Add, Mul, Concat};
use super::loss::{MseLoss, L1Loss, SmoothL1Loss, CrossEntropyLoss, BceLoss, BceWithLogitsLoss, GaussianKlLoss};

impl Describe for Linear {
    const DOC: &'static str = "Fully connected layer: `y = x·Wᵀ + b` over the last dimension.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("out_features", "uint", "Output features per sample."),
        FieldSchema::optional("in_features", "uint", "None", "Input features; inferred from the input when absent, checked when given."),
        FieldSchema::optional("bias", "bool", "true", "Whether to add a learned bias."),
    ];
}

impl Describe for Embedding {
    const DOC: &'static str = "Looks up a learned vector for each integer index.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("num_embeddings", "uint", "Size of the vocabulary (indices 0..num_embeddings)."),
        FieldSchema::required("embedding_dim", "uint", "Length of each vector."),
        FieldSchema::optional("padding_idx", "uint", "None", "Index whose vector stays fixed and gets no gradient (e.g. the pad token)."),
    ];
}

impl Describe for Conv2d {
    const DOC: &'static str = "2-D convolution of `[N, C, H, W]` images.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("in_channels", "uint", "None", "Input channels; inferred from the input when absent, checked when given."),
        FieldSchema::required("out_channels", "uint", "Output channels (filters)."),
        FieldSchema::required("kernel_size", "size", "Kernel height and width."),
        FieldSchema::optional("stride", "size", "1", "Step between windows."),
        FieldSchema::optional("padding", "size", "0", "Zeros added on each side."),
        FieldSchema::optional("dilation", "size", "1", "Spacing between kernel taps."),
        FieldSchema::optional("groups", "uint", "1", "Channel groups convolved separately; divides both channel counts."),
        FieldSchema::optional("bias", "bool", "true", "Whether to add a learned bias per output channel."),
    ];
}

impl Describe for ConvTranspose2d {
    const DOC: &'static str = "Transposed 2-D convolution (learned upsampling), the adjoint of Conv2d.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("in_channels", "uint", "None", "Input channels; inferred from the input when absent, checked when given."),
        FieldSchema::required("out_channels", "uint", "Output channels."),
        FieldSchema::required("kernel_size", "size", "Kernel height and width."),
        FieldSchema::optional("stride", "size", "1", "Upsampling step."),
        FieldSchema::optional("padding", "size", "0", "Rows/columns cropped from each side of the output."),
        FieldSchema::optional("output_padding", "size", "0", "Extra rows/columns on the bottom/right of the output; below stride or dilation."),
        FieldSchema::optional("dilation", "size", "1", "Spacing between kernel taps."),
        FieldSchema::optional("groups", "uint", "1", "Channel groups convolved separately; divides both channel counts."),
        FieldSchema::optional("bias", "bool", "true", "Whether to add a learned bias per output channel."),
    ];
}

impl Describe for MaxPool2d {
    const DOC: &'static str = "Maximum over each window of `[N, C, H, W]` images.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("kernel_size", "size", "Window height and width."),
        FieldSchema::optional("stride", "size", "None", "Step between windows; kernel_size when absent."),
        FieldSchema::optional("padding", "size", "0", "Implicit −∞ padding on each side; at most half the kernel."),
        FieldSchema::optional("dilation", "size", "1", "Spacing between window taps."),
        FieldSchema::optional("ceil_mode", "bool", "false", "Round the output size up, keeping a last partial window."),
    ];
}

impl Describe for AvgPool2d {
    const DOC: &'static str = "Average over each window of `[N, C, H, W]` images.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("kernel_size", "size", "Window height and width."),
        FieldSchema::optional("stride", "size", "None", "Step between windows; kernel_size when absent."),
        FieldSchema::optional("padding", "size", "0", "Implicit zero padding on each side; at most half the kernel."),
        FieldSchema::optional("ceil_mode", "bool", "false", "Round the output size up, keeping a last partial window."),
        FieldSchema::optional("count_include_pad", "bool", "true", "Whether padding counts in the divisor."),
    ];
}

impl Describe for AdaptiveAvgPool2d {
    const DOC: &'static str = "Averages `[N, C, H, W]` images into a fixed output grid (1: global average pooling).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("output_size", "size", "1", "Output height and width."),
    ];
}

impl Describe for BatchNorm1d {
    const DOC: &'static str = "Normalises each channel of `[N, C]` or `[N, C, L]` over the batch.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("num_features", "uint", "None", "Channels; inferred from the input when absent, checked when given."),
        FieldSchema::optional("eps", "float", "1e-5", "Added to the variance for stability; > 0."),
        FieldSchema::optional("momentum", "float", "0.1", "Weight of the new batch in the running statistics, in [0, 1]."),
        FieldSchema::optional("affine", "bool", "true", "Whether to learn a per-channel scale and shift."),
        FieldSchema::optional("track_running_stats", "bool", "true", "Whether to keep running statistics for eval mode."),
    ];
}

impl Describe for BatchNorm2d {
    const DOC: &'static str = "Normalises each channel of `[N, C, H, W]` over the batch and space.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("num_features", "uint", "None", "Channels; inferred from the input when absent, checked when given."),
        FieldSchema::optional("eps", "float", "1e-5", "Added to the variance for stability; > 0."),
        FieldSchema::optional("momentum", "float", "0.1", "Weight of the new batch in the running statistics, in [0, 1]."),
        FieldSchema::optional("affine", "bool", "true", "Whether to learn a per-channel scale and shift."),
        FieldSchema::optional("track_running_stats", "bool", "true", "Whether to keep running statistics for eval mode."),
    ];
}

impl Describe for LayerNorm {
    const DOC: &'static str = "Normalises each sample over its trailing dimensions.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("normalized_shape", "[uint]", "None", "Trailing dims normalised over; the last dim when absent, checked when given."),
        FieldSchema::optional("eps", "float", "1e-5", "Added to the variance for stability; > 0."),
        FieldSchema::optional("elementwise_affine", "bool", "true", "Whether to learn a per-element scale and shift."),
    ];
}

impl Describe for Dropout {
    const DOC: &'static str = "Zeroes each element with probability p in training, scaling the rest by 1/(1-p).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("p", "float", "0.5", "Probability of zeroing an element, in [0, 1)."),
    ];
}

/// The fields LSTM, GRU and RNN share, in PyTorch's order.
const INPUT_SIZE: FieldSchema = FieldSchema::optional("input_size", "uint", "None", "Features per step; inferred from the input's last dimension when absent, checked when given.");
const HIDDEN_SIZE: FieldSchema = FieldSchema::required("hidden_size", "uint", "Features of the hidden state (the output has hidden_size per direction).");
const NUM_LAYERS: FieldSchema = FieldSchema::optional("num_layers", "uint", "1", "Stacked layers, each reading the previous one's output sequence.");
const RECURRENT_BIAS: FieldSchema = FieldSchema::optional("bias", "bool", "true", "Whether to learn the biases b_ih and b_hh.");
const RECURRENT_DROPOUT: FieldSchema = FieldSchema::optional("dropout", "float", "0.0", "Dropout probability on each layer's output but the last, in training; in [0, 1).");
const BIDIRECTIONAL: FieldSchema = FieldSchema::optional("bidirectional", "bool", "false", "Also run each layer backwards in time, concatenating both directions' states (parameters `…_reverse`).");

impl Describe for Lstm {
    const DOC: &'static str = "Long short-term memory over `[T, F]` sequences (batch first), every step's hidden state out as `[T, hidden·dirs]`; gates i, f, g, o as PyTorch.";
    const FIELDS: &'static [FieldSchema] = &[INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, RECURRENT_BIAS, RECURRENT_DROPOUT, BIDIRECTIONAL];
}

impl Describe for Gru {
    const DOC: &'static str = "Gated recurrent unit over `[T, F]` sequences (batch first), every step's hidden state out as `[T, hidden·dirs]`; gates r, z, n as PyTorch.";
    const FIELDS: &'static [FieldSchema] = &[INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, RECURRENT_BIAS, RECURRENT_DROPOUT, BIDIRECTIONAL];
}

impl Describe for Rnn {
    const DOC: &'static str = "Elman recurrent layer `h = act(x·W_ihᵀ + b_ih + h_prev·W_hhᵀ + b_hh)` over `[T, F]` sequences (batch first), out `[T, hidden·dirs]`.";
    const FIELDS: &'static [FieldSchema] = &[
        INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS,
        FieldSchema::optional("nonlinearity", "tanh | relu", "tanh", "The activation."),
        RECURRENT_BIAS, RECURRENT_DROPOUT, BIDIRECTIONAL,
    ];
}

impl Describe for MultiheadAttention {
    const DOC: &'static str = "Multi-head self-attention over `[T, D]` sequences (batch first): softmax(q·kᵀ/√d_head)·v per head, optionally causal; PyTorch's `in_proj_weight`, `in_proj_bias`, `out_proj.*`.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("embed_dim", "uint", "None", "Features per step D; inferred from the input when absent, checked when given."),
        FieldSchema::optional("num_heads", "uint", "1", "Attention heads; must divide embed_dim."),
        FieldSchema::optional("dropout", "float", "0.0", "Dropout probability on the attention weights, in training; in [0, 1)."),
        FieldSchema::optional("causal", "bool", "false", "Position i attends only to positions ≤ i (language models)."),
    ];
}

impl Describe for TransformerEncoderLayer {
    const DOC: &'static str = "Transformer encoder layer over `[T, d_model]` sequences (batch first): self-attention and a feed-forward block, each with a residual and a LayerNorm; PyTorch's parameter names.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("d_model", "uint", "None", "Features per step; inferred from the input when absent, checked when given."),
        FieldSchema::optional("nhead", "uint", "1", "Attention heads; must divide d_model."),
        FieldSchema::optional("dim_feedforward", "uint", "2048", "Hidden width of the feed-forward block."),
        FieldSchema::optional("dropout", "float", "0.1", "Dropout probability on the attention weights and after each block, in training."),
        FieldSchema::optional("activation", "relu | gelu", "relu", "The feed-forward block's activation."),
        FieldSchema::optional("layer_norm_eps", "float", "1e-5", "The LayerNorms' eps; > 0."),
        FieldSchema::optional("norm_first", "bool", "false", "LayerNorm before each block (pre-norm) instead of after the residual sum."),
        FieldSchema::optional("causal", "bool", "false", "Causal self-attention: position i attends only to positions ≤ i."),
    ];
}

impl Describe for PositionalEmbedding {
    const DOC: &'static str = "Adds a learned vector per position to `[T, D]` sequences (`weight [max_len, D]`, N(0, 1) like nn.Embedding).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("max_len", "uint", "None", "Positions the weight holds (sequences may be shorter); the input's length when absent."),
    ];
}

impl Describe for Relu {
    const DOC: &'static str = "`max(x, 0)`.";
}

impl Describe for LeakyRelu {
    const DOC: &'static str = "`x` for `x > 0`, else `negative_slope·x`.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("negative_slope", "float", "0.01", "Slope for negative inputs."),
    ];
}

impl Describe for Elu {
    const DOC: &'static str = "`x` for `x > 0`, else `alpha·(eˣ − 1)`.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("alpha", "float", "1.0", "Scale of the negative branch."),
    ];
}

impl Describe for Gelu {
    const DOC: &'static str = "`x·Φ(x)`, Φ the standard normal CDF.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("approximate", "none | tanh", "none", "Exact form, or the tanh approximation."),
    ];
}

impl Describe for Silu {
    const DOC: &'static str = "`x·σ(x)` (swish).";
}

impl Describe for Sigmoid {
    const DOC: &'static str = "`1/(1 + e⁻ˣ)`.";
}

impl Describe for Tanh {
    const DOC: &'static str = "Hyperbolic tangent.";
}

impl Describe for Softmax {
    const DOC: &'static str = "`exp(x)/Σ exp(x)` along a dimension.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("dim", "int", "-1", "The dimension that sums to 1; negative counts from the end."),
    ];
}

impl Describe for LogSoftmax {
    const DOC: &'static str = "`log softmax(x)` along a dimension, computed stably.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("dim", "int", "-1", "The dimension normalised over; negative counts from the end."),
    ];
}

impl Describe for Flatten {
    const DOC: &'static str = "Merges dimensions start_dim..=end_dim into one (a view).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("start_dim", "int", "1", "First dimension merged; negative counts from the end."),
        FieldSchema::optional("end_dim", "int", "-1", "Last dimension merged; negative counts from the end."),
    ];
}

impl Describe for Reshape {
    const DOC: &'static str = "Gives each sample a new shape, keeping the batch dimension (a view).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("shape", "[int]", "The per-sample shape; one entry may be -1 (inferred)."),
    ];
}

impl Describe for PixelShuffle {
    const DOC: &'static str = "Rearranges `[N, C·r², H, W]` into `[N, C, H·r, W·r]`.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("upscale_factor", "uint", "The factor r."),
    ];
}

impl Describe for Detach {
    const DOC: &'static str = "Passes its input through and stops the gradient (PyTorch's detach).";
}

impl Describe for Reparameterize {
    const DOC: &'static str = "A VAE's sample mu + ε·exp(logvar/2), ε ~ N(0, 1) from the step's seed; gradients reach mu and logvar.";
}

impl Describe for Upsample {
    const DOC: &'static str = "Enlarges images by integer factors, nearest or bilinear (half-pixel centres, PyTorch's align_corners=False).";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("scale_factor", "size", "2", "Height and width factors (one number for both)."),
        FieldSchema::optional("mode", "nearest | bilinear", "nearest", "Copy the covering pixel, or interpolate the four nearest."),
    ];
}

impl Describe for Select {
    const DOC: &'static str = "Picks one index along a dimension, which disappears (`torch.select`): `Select(dim: 1, index: -1)` is the last step of `[N, T, F]`.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("dim", "int", "1", "The dimension indexed, counted with the batch as 0 (which must stay); negative counts from the end."),
        FieldSchema::optional("index", "int", "-1", "The index along dim; negative counts from the end (-1: the last, 0: the first)."),
    ];
}

impl Describe for Transpose {
    const DOC: &'static str = "Swaps two dimensions (`x.transpose(dim0, dim1)`), e.g. `[N, T, C]` logits to the `[N, C, T]` CrossEntropyLoss reads.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("dim0", "int", "One dimension, counted with the batch as 0 (which must stay); negative counts from the end."),
        FieldSchema::required("dim1", "int", "The other dimension."),
    ];
}

impl Describe for Permute {
    const DOC: &'static str = "Reorders the dimensions (`x.permute(*dims)`); the batch dimension 0 stays first.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::required("dims", "[int]", "The new order of all dimensions, starting with 0; negative counts from the end."),
    ];
}

/// The fields Sum and Mean share.
const REDUCE_DIM: FieldSchema = FieldSchema::optional("dim", "int", "1", "The dimension reduced, counted with the batch as 0 (which must stay); negative counts from the end.");
const KEEPDIM: FieldSchema = FieldSchema::optional("keepdim", "bool", "false", "Keep the reduced dimension with size 1.");

impl Describe for Slice {
    const DOC: &'static str = "Positions `start..end` along one dimension (`x[:, start:end]`); negative bounds count from the end, bounds past either end are clamped.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("dim", "int", "1", "The dimension to slice; negative counts from the end; not the batch (0)."),
        FieldSchema::optional("start", "int", "0", "First position kept; negative counts from the end."),
        FieldSchema::optional("end", "int", "None", "One past the last position kept; negative counts from the end; the end when absent."),
    ];
}

impl Describe for Sum {
    const DOC: &'static str = "Sum over one dimension (`x.sum(dim, keepdim)`).";
    const FIELDS: &'static [FieldSchema] = &[REDUCE_DIM, KEEPDIM];
}

impl Describe for Mean {
    const DOC: &'static str = "Mean over one dimension (`x.mean(dim, keepdim)`), e.g. over a sequence's steps.";
    const FIELDS: &'static [FieldSchema] = &[REDUCE_DIM, KEEPDIM];
}

impl Describe for Add {
    const DOC: &'static str = "Elementwise sum of two or more same-shaped inputs.";
}

impl Describe for Mul {
    const DOC: &'static str = "Elementwise product of two same-shaped inputs.";
}

impl Describe for Concat {
    const DOC: &'static str = "Joins two or more inputs along a dimension.";
    const FIELDS: &'static [FieldSchema] = &[
        FieldSchema::optional("dim", "int", "1", "The dimension joined along; negative counts from the end."),
    ];
}

impl Describe for MseLoss {
    const DOC: &'static str = "Mean squared error between input and target.";
    const FIELDS: &'static [FieldSchema] = &[
        REDUCTION,
    ];
}

impl Describe for L1Loss {
    const DOC: &'static str = "Mean absolute error between input and target.";
    const FIELDS: &'static [FieldSchema] = &[
        REDUCTION,
    ];
}

impl Describe for SmoothL1Loss {
    const DOC: &'static str = "Huber-like loss: quadratic below beta, linear above.";
    const FIELDS: &'static [FieldSchema] = &[
        REDUCTION,
        FieldSchema::optional("beta", "float", "1.0", "Where the quadratic part meets the linear part; ≥ 0 (0 is L1)."),
    ];
}

impl Describe for CrossEntropyLoss {
    const DOC: &'static str = "Softmax cross-entropy of logits against class indices.";
    const FIELDS: &'static [FieldSchema] = &[
        REDUCTION,
        FieldSchema::optional("label_smoothing", "float", "0.0", "ε in [0, 1]: the target is (1-ε)·onehot + ε/C."),
        FieldSchema::optional("ignore_index", "int", "None", "Targets equal to this contribute nothing (none ignored when absent)."),
    ];
}

impl Describe for BceLoss {
    const DOC: &'static str = "Binary cross-entropy of probabilities in [0, 1] (a Sigmoid's output) against targets in [0, 1].";
    const FIELDS: &'static [FieldSchema] = &[REDUCTION];
}

impl Describe for BceWithLogitsLoss {
    const DOC: &'static str = "Binary cross-entropy of logits against probabilities in [0, 1].";
    const FIELDS: &'static [FieldSchema] = &[
        REDUCTION,
        FieldSchema::optional("pos_weight", "float", "None", "Weight of the positive term (1 when absent); ≥ 0."),
    ];
}

impl Describe for GaussianKlLoss {
    const DOC: &'static str = "KL(N(mu, exp(logvar)) ‖ N(0, 1)), summed over latents; mean: averaged over the batch, sum: summed (PyTorch's vae example).";
    const FIELDS: &'static [FieldSchema] = &[REDUCTION];
}
