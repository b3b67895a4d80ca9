"""UVA: Unified Video Action model (Li, Gao, Song et al., 2025), patchified-pixel version.

One clip = ``num_frames`` history frames, ``num_frames`` future frames and
``num_frames * actions_per_frame`` actions (``actions_per_frame`` between consecutive future frames).
Each of the ``num_frames * tokens_per_frame`` sequence positions fuses three parts with one linear layer:
  (future-frame token | learned frame mask token) + (history token at the same frame and grid position |
  frame mask token) + (embedding of the action that tiles this position | learned action mask token).
A bidirectional MAR-style encoder-decoder transformer (masked positions stay in the sequence) yields
one vector per position. Two decoupled diffusion heads decode it: the video head denoises each token,
the action head reads one vector per frame and stretches it over that frame's actions.

Training masks inputs according to a task mode (one per batch, see ``TaskMode``); the spatial mask
ratio follows a truncated normal (min 0.7, mean 1.0, std 0.25) and one spatial mask is shared by all
frames. Policy inference never runs the video head.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from workers.models.zoo import register_model
from workers.uva.diffusion import DiffusionHead


class TaskMode(str, enum.Enum):
    VIDEO = "video"  # future masked, actions masked -> video loss
    FORWARD_DYNAMICS = "forward_dynamics"  # future masked, actions given -> video loss
    POLICY = "policy"  # future fully masked, actions masked -> action loss
    INVERSE_DYNAMICS = "inverse_dynamics"  # future given, history and actions masked -> action loss
    JOINT = "joint"  # future masked, actions masked -> video + action loss


@dataclass(frozen=True)
class UVAConfig:
    image_size: int = 16  # square frames, pixels per side
    in_channels: int = 3  # channels per frame
    patch_size: int = 4  # pixels per token side: tokens_per_frame = (image_size // patch_size) ** 2
    num_frames: int = 2  # history frames per clip = future frames per clip
    actions_per_frame: int = 4  # actions between two consecutive future frames
    action_dim: int = 2  # values per action (normalised to [-1, 1])
    width: int = 128  # encoder and decoder width
    encoder_depth: int = 2  # bidirectional transformer blocks in the encoder
    decoder_depth: int = 2  # and in the decoder
    num_heads: int = 4  # attention heads
    mlp_ratio: float = 4.0  # transformer MLP hidden size / width
    dropout: float = 0.1  # attention and projection dropout (paper: 0.1)
    video_head_width: int = 128  # AdaLN-MLP width of the video diffusion head
    video_head_depth: int = 3  # its residual blocks
    action_head_width: int = 128  # same for the action diffusion head
    action_head_depth: int = 3
    diffusion_train_steps: int = 1000  # DDPM timesteps during training
    diffusion_sample_steps: int = 100  # respaced DDPM timesteps when sampling
    diffusion_batch_mul: int = 4  # noise draws per target vector per training step (MAR)
    mask_ratio_min: float = 0.7  # truncated-normal spatial mask ratio: lower bound
    mask_ratio_std: float = 0.25  # its std (mean and upper bound are 1.0)

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        if self.width % self.num_heads:
            raise ValueError("width must be a multiple of num_heads")
        if min(self.num_frames, self.actions_per_frame, self.action_dim) < 1:
            raise ValueError("num_frames, actions_per_frame and action_dim must be positive")

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size

    @property
    def tokens_per_frame(self) -> int:
        return self.grid_size**2

    @property
    def token_dim(self) -> int:
        return self.in_channels * self.patch_size**2

    @property
    def num_actions(self) -> int:
        return self.num_frames * self.actions_per_frame


class Block(nn.Module):
    """Pre-norm bidirectional transformer block."""

    def __init__(self, width: int, num_heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width), nn.Dropout(dropout))
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        # x: [B, L, width]
        b, length, width = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, length, 3, self.num_heads, width // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, L, head_dim]
        attended = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj_drop(self.proj(attended.transpose(1, 2).reshape(b, length, width)))
        return x + self.mlp(self.norm2(x))


class ActionReadout(nn.Module):
    """One vector per frame from its tokens, stretched over the frame's actions."""

    def __init__(self, config: UVAConfig) -> None:
        super().__init__()
        self.config = config
        width, tokens = config.width, config.tokens_per_frame
        self.frame_readout = nn.Sequential(
            nn.LayerNorm(width, eps=1e-6), nn.Flatten(-2), nn.Linear(tokens * width, width), nn.SiLU()
        )
        self.action_slot = nn.Parameter(torch.zeros(config.actions_per_frame, width))
        self.refine = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        nn.init.normal_(self.action_slot, std=0.02)

    def forward(self, z: Tensor) -> Tensor:
        # z: [B, F * S, width] -> per-action conditions [B, F * actions_per_frame, width]
        c = self.config
        frames = self.frame_readout(z.view(z.shape[0], c.num_frames, c.tokens_per_frame, c.width))  # [B, F, W]
        stretched = frames[:, :, None, :] + self.action_slot  # [B, F, A, W]
        return self.refine(stretched).flatten(1, 2)


class UVA(nn.Module):
    def __init__(self, config: UVAConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        w = c.width
        self.future_proj = nn.Linear(c.token_dim, w)
        self.history_proj = nn.Linear(c.token_dim, w)
        self.action_proj = nn.Linear(c.action_dim, w)
        self.frame_mask_token = nn.Parameter(torch.zeros(w))
        self.action_mask_token = nn.Parameter(torch.zeros(w))
        self.fuse = nn.Linear(3 * w, w)  # joint video-action latent per position
        self.encoder_temporal_pos = nn.Parameter(torch.zeros(c.num_frames, 1, w))
        self.encoder_spatial_pos = nn.Parameter(torch.zeros(1, c.tokens_per_frame, w))
        self.encoder_input_norm = nn.LayerNorm(w, eps=1e-6)
        self.encoder = nn.ModuleList(Block(w, c.num_heads, c.mlp_ratio, c.dropout) for _ in range(c.encoder_depth))
        self.encoder_norm = nn.LayerNorm(w, eps=1e-6)
        self.decoder_embed = nn.Linear(w, w)
        self.decoder_temporal_pos = nn.Parameter(torch.zeros(c.num_frames, 1, w))
        self.decoder_spatial_pos = nn.Parameter(torch.zeros(1, c.tokens_per_frame, w))
        self.decoder = nn.ModuleList(Block(w, c.num_heads, c.mlp_ratio, c.dropout) for _ in range(c.decoder_depth))
        self.decoder_norm = nn.LayerNorm(w, eps=1e-6)
        self.head_temporal_pos = nn.Parameter(torch.zeros(c.num_frames, 1, w))
        self.head_spatial_pos = nn.Parameter(torch.zeros(1, c.tokens_per_frame, w))
        # Action i tiles the positions of frame i // A whose grid index s has s * A // S == i % A.
        within = torch.arange(c.tokens_per_frame) * c.actions_per_frame // c.tokens_per_frame
        frame_offset = torch.arange(c.num_frames)[:, None] * c.actions_per_frame
        self.register_buffer("action_of_position", (frame_offset + within[None]).flatten(), persistent=False)
        self._init_weights()
        self.video_head = DiffusionHead(
            c.token_dim, w, c.video_head_width, c.video_head_depth, c.diffusion_train_steps, c.diffusion_sample_steps
        )
        self.action_readout = ActionReadout(c)
        self.action_head = DiffusionHead(
            c.action_dim, w, c.action_head_width, c.action_head_depth, c.diffusion_train_steps, c.diffusion_sample_steps
        )

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        for name, parameter in self.named_parameters():
            if name.endswith(("_pos", "_token")):
                nn.init.normal_(parameter, std=0.02)

    # ----- tokens ---------------------------------------------------------------------------------
    def patchify(self, frames: Tensor) -> Tensor:
        # frames: [B, F, C, H, W] -> tokens [B, F, S, C * p * p]
        b, f, ch, _, _ = frames.shape
        p, g = self.config.patch_size, self.config.grid_size
        patches = frames.reshape(b, f, ch, g, p, g, p).permute(0, 1, 3, 5, 2, 4, 6)
        return patches.reshape(b, f, g * g, ch * p * p)

    def unpatchify(self, tokens: Tensor) -> Tensor:
        # tokens: [B, F, S, C * p * p] -> frames [B, F, C, H, W]
        b, f = tokens.shape[:2]
        c = self.config
        p, g = c.patch_size, c.grid_size
        patches = tokens.reshape(b, f, g, g, c.in_channels, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return patches.reshape(b, f, c.in_channels, c.image_size, c.image_size)

    def sample_mask_ratio(self) -> float:
        """Draw from the normal(1.0, std) truncated to [mask_ratio_min, 1.0] by inverse CDF."""
        c = self.config
        low = torch.special.ndtr(torch.tensor((c.mask_ratio_min - 1.0) / c.mask_ratio_std, dtype=torch.float64))
        u = low + (0.5 - low) * torch.rand((), dtype=torch.float64)
        return float(1.0 + c.mask_ratio_std * torch.special.ndtri(u))

    def random_spatial_mask(self, batch: int, ratio: float) -> Tensor:
        """[B, S] bool, True = masked; ceil(ratio * S) grid positions per sample, in random order."""
        s = self.config.tokens_per_frame
        orders = torch.rand(batch, s, device=self.frame_mask_token.device).argsort(dim=1)
        ranks = orders.argsort(dim=1)  # rank of each grid position in its sample's order
        return ranks < math.ceil(s * ratio)

    # ----- backbone -------------------------------------------------------------------------------
    def backbone(
        self, history: Tensor | None, future: Tensor | None, future_mask: Tensor | None, actions: Tensor | None
    ) -> Tensor:
        """Encode the joint latent and decode per-position conditions.

        history, future: tokens [B, F, S, D] or None (= all masked); future_mask: [B, S] bool shared by
        all frames (None = nothing masked); actions: [B, F * A, action_dim] or None (= masked).
        Returns z: [B, F * S, width].
        """
        c = self.config
        reference = history if history is not None else future
        assert reference is not None, "at least one of history and future must be given"
        b = reference.shape[0]
        positions = (b, c.num_frames, c.tokens_per_frame, c.width)
        mask_frame = self.frame_mask_token.expand(positions)
        future_part = mask_frame if future is None else self.future_proj(future)
        if future is not None and future_mask is not None:
            future_part = torch.where(future_mask[:, None, :, None], mask_frame, future_part)
        history_part = mask_frame if history is None else self.history_proj(history)
        if actions is None:
            action_part = self.action_mask_token.expand(positions)
        else:
            action_part = self.action_proj(actions)[:, self.action_of_position].view(positions)
        x = self.fuse(torch.cat([future_part, history_part, action_part], dim=-1))  # [B, F, S, W]
        x = x + self.encoder_temporal_pos + self.encoder_spatial_pos
        x = self.encoder_input_norm(x.flatten(1, 2))  # [B, F * S, W]
        for block in self.encoder:
            x = block(x)
        x = self.decoder_embed(self.encoder_norm(x))
        x = x + (self.decoder_temporal_pos + self.decoder_spatial_pos).flatten(0, 1)
        for block in self.decoder:
            x = block(x)
        return self.decoder_norm(x) + (self.head_temporal_pos + self.head_spatial_pos).flatten(0, 1)

    # ----- training -------------------------------------------------------------------------------
    def loss(self, history: Tensor, future: Tensor, actions: Tensor, mode: TaskMode) -> dict[str, Tensor]:
        """Masked-input training loss for one task mode.

        history, future: frames [B, F, C, H, W] in [-1, 1]; actions: [B, F * A, action_dim] in [-1, 1].
        Returns {"loss", "video_loss", "action_loss"} (a loss the mode does not train is 0).
        """
        mode = TaskMode(mode)
        history_tokens, future_tokens = self.patchify(history), self.patchify(future)  # [B, F, S, D]
        b = history.shape[0]
        mask = self.random_spatial_mask(b, self.sample_mask_ratio())  # [B, S]
        if mode is TaskMode.POLICY:
            z = self.backbone(history_tokens, None, None, None)
        elif mode is TaskMode.INVERSE_DYNAMICS:
            z = self.backbone(None, future_tokens, None, None)
        else:
            given_actions = actions if mode is TaskMode.FORWARD_DYNAMICS else None
            z = self.backbone(history_tokens, future_tokens, mask, given_actions)
        zero = z.new_zeros(())
        video_loss = action_loss = zero
        if mode in (TaskMode.VIDEO, TaskMode.FORWARD_DYNAMICS, TaskMode.JOINT):
            per_token = self.video_head.loss(
                future_tokens.flatten(0, 2), z.flatten(0, 1), self.config.diffusion_batch_mul
            ).view(b, self.config.num_frames, -1)  # [B, F, S]
            weights = mask[:, None, :].expand_as(per_token).float()
            video_loss = (per_token * weights).sum() / weights.sum().clamp(min=1.0)
        if mode in (TaskMode.POLICY, TaskMode.INVERSE_DYNAMICS, TaskMode.JOINT):
            conditions = self.action_readout(z)  # [B, F * A, W]
            action_loss = self.action_head.loss(
                actions.flatten(0, 1), conditions.flatten(0, 1), self.config.diffusion_batch_mul
            ).mean()
        return {"loss": video_loss + action_loss, "video_loss": video_loss, "action_loss": action_loss}

    # ----- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample_actions(
        self, history: Tensor | None = None, future: Tensor | None = None, temperature: float = 1.0
    ) -> Tensor:
        """Policy (history given) or inverse dynamics (future given, history masked) -> actions
        [B, F * A, action_dim]. One backbone pass plus the action head; the video head is never run."""
        history_tokens = None if history is None else self.patchify(history)
        future_tokens = None if future is None else self.patchify(future)
        if future_tokens is not None:
            history_tokens = None  # inverse dynamics masks the history, as in training
        z = self.backbone(history_tokens, future_tokens, None, None)
        conditions = self.action_readout(z)  # [B, F * A, W]
        flat = self.action_head.sample(conditions.flatten(0, 1), temperature)
        return flat.view(conditions.shape[0], self.config.num_actions, self.config.action_dim)

    @torch.no_grad()
    def sample_video(
        self, history: Tensor, actions: Tensor | None = None, num_iter: int = 4, temperature: float = 1.0
    ) -> Tensor:
        """Video generation (actions None) or forward dynamics (actions given) by MAR decoding.

        history: [B, F, C, H, W] in [-1, 1]; actions: [B, F * A, action_dim]. Grid positions are
        revealed in a random order over ``num_iter`` steps (cosine schedule), each position for all
        frames at once. Returns future frames [B, F, C, H, W].
        """
        c = self.config
        b, s = history.shape[0], c.tokens_per_frame
        history_tokens = self.patchify(history)
        tokens = history_tokens.new_zeros(b, c.num_frames, s, c.token_dim)
        mask = torch.ones(b, s, dtype=torch.bool, device=history.device)
        order = torch.rand(b, s, device=history.device).argsort(dim=1)
        num_iter = max(1, min(num_iter, s))
        masked_count = s
        for step in range(num_iter):
            z = self.backbone(history_tokens, tokens, mask, actions).view(b, c.num_frames, s, -1)
            scheduled = math.floor(s * math.cos(math.pi / 2 * (step + 1) / num_iter))
            # reveal at least one position per step and keep one masked until the last step
            still_masked = 0 if step == num_iter - 1 else max(1, min(masked_count - 1, scheduled))
            masked_count = still_masked
            next_mask = torch.zeros_like(mask).scatter(1, order[:, :still_masked], True)
            reveal = mask & ~next_mask  # [B, S]
            picked = reveal[:, None, :].expand(b, c.num_frames, s)  # [B, F, S]
            tokens = tokens.clone()
            tokens[picked] = self.video_head.sample(z[picked], temperature)
            mask = next_mask
        return self.unpatchify(tokens).clamp(-1.0, 1.0)


def build_uva(config: UVAConfig) -> UVA:
    return UVA(config)


@register_model("uva", build_uva)
def uva_default() -> UVAConfig:
    """Width-128, 2+2-block backbone over 16x16 RGB frames in 4x4 patches."""
    return UVAConfig()
