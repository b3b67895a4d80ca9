"""UVA demonstration datasets: generation from the point-goal sim, and a strict safetensors format.

Format (one safetensors file, stored by the registry as a ``dataset`` artifact):
  frames       uint8   [N, C, H, W]  observation o_t of each step
  actions      float32 [N, A]        action a_t taken after o_t, in [-1, 1]
  episode_ids  int64   [N]           rows of one episode are contiguous and in time order
  expert       uint8   [N]           1 where the step comes from an expert episode (optional: all 1)
  positions    float32 [N, 2]        point position at o_t (optional; sim datasets only)
  targets      float32 [N, 2]        target goal position (optional; sim datasets only)
  distractors  float32 [N, 2]        distractor goal position (optional; sim datasets only)
Header metadata: one key ``uva_dataset`` holding JSON {"format": "uva-dataset/1", "sim_config": fields of
PointGoalConfig or null} (one key, because safetensors writes metadata keys in no fixed order and the
registry addresses bytes by sha256: the same dataset must always serialise to the same bytes).
Nothing is ever unpickled; any other tensor name, dtype or shape is rejected.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import safetensors.numpy

from workers.uva.sim import PointGoalConfig, PointGoalSim, expert_actions, random_actions

FORMAT = "uva-dataset/1"
METADATA_KEY = "uva_dataset"
_REQUIRED = {"frames": np.uint8, "actions": np.float32, "episode_ids": np.int64}
_OPTIONAL = {"expert": np.uint8, "positions": np.float32, "targets": np.float32, "distractors": np.float32}


class InvalidDatasetError(ValueError):
    """The bytes are not a valid UVA dataset."""


@dataclass(frozen=True)
class UVADataset:
    frames: np.ndarray  # uint8 [N, C, H, W]
    actions: np.ndarray  # float32 [N, A]
    episode_ids: np.ndarray  # int64 [N]
    expert: np.ndarray  # bool [N]
    positions: np.ndarray | None = None  # float32 [N, 2]
    targets: np.ndarray | None = None  # float32 [N, 2]
    distractors: np.ndarray | None = None  # float32 [N, 2]
    sim_config: PointGoalConfig | None = None  # the sim that produced it, for closed-loop evaluation

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_steps(self) -> int:
        return int(self.frames.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(np.unique(self.episode_ids).size)


def generate_demonstrations(
    config: PointGoalConfig,
    num_expert: int,
    num_random: int,
    episode_length: int = 24,
    seed: int = 0,
    expert_noise: float = 0.1,
) -> UVADataset:
    """Roll out ``num_expert`` expert and ``num_random`` random-action episodes of ``episode_length``
    steps. Episode i uses sim seed ``seed + i``; the result is a pure function of the arguments."""
    num_episodes = num_expert + num_random
    seeds = [seed + i for i in range(num_episodes)]
    sim = PointGoalSim(config, seeds)
    is_expert = np.arange(num_episodes) < num_expert
    rng = np.random.default_rng(seed + 1_000_003)
    previous_random = rng.uniform(-1.0, 1.0, size=(num_episodes, 2))
    frames, actions, positions = [], [], []
    for _ in range(episode_length):
        frames.append(sim.render())
        positions.append(sim.positions.copy())
        previous_random = random_actions(previous_random, rng)
        chosen = np.where(
            is_expert[:, None], expert_actions(config, sim.positions, sim.targets, rng, expert_noise), previous_random
        )
        actions.append(chosen)
        sim.step(chosen)

    # [T, E, ...] -> episode-major rows [E * T, ...]
    def rows(steps: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack(steps, axis=1)
        return stacked.reshape(num_episodes * episode_length, *stacked.shape[2:])

    per_step = np.repeat(np.arange(num_episodes), episode_length)
    return UVADataset(
        frames=rows(frames),
        actions=rows(actions).astype(np.float32),
        episode_ids=per_step.astype(np.int64),
        expert=is_expert[per_step],
        positions=rows(positions).astype(np.float32),
        targets=sim.targets[per_step].astype(np.float32),
        distractors=sim.distractors[per_step].astype(np.float32),
        sim_config=config,
    )


def dataset_to_bytes(dataset: UVADataset) -> bytes:
    tensors = {
        "frames": dataset.frames,
        "actions": dataset.actions,
        "episode_ids": dataset.episode_ids,
        "expert": dataset.expert.astype(np.uint8),
    }
    for name in ("positions", "targets", "distractors"):
        value = getattr(dataset, name)
        if value is not None:
            tensors[name] = value
    sim_config = None if dataset.sim_config is None else dataclasses.asdict(dataset.sim_config)
    metadata = {METADATA_KEY: json.dumps({"format": FORMAT, "sim_config": sim_config}, sort_keys=True)}
    return safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=metadata)


def save_dataset(dataset: UVADataset, path: str | Path) -> None:
    Path(path).write_bytes(dataset_to_bytes(dataset))


def load_dataset(source: str | Path | bytes) -> UVADataset:
    """Load and validate a dataset from a path or from the file's bytes."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    metadata = _read_metadata(data)
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as error:  # the parser's own error types vary by version
        raise InvalidDatasetError(f"not a readable safetensors file: {error}") from error
    unknown = set(tensors) - set(_REQUIRED) - set(_OPTIONAL)
    missing = set(_REQUIRED) - set(tensors)
    if unknown or missing:
        raise InvalidDatasetError(f"unexpected tensors {sorted(unknown)}, missing tensors {sorted(missing)}")
    for name, dtype in {**_REQUIRED, **_OPTIONAL}.items():
        if name in tensors and tensors[name].dtype != dtype:
            raise InvalidDatasetError(f"{name} must be {np.dtype(dtype).name}, got {tensors[name].dtype}")
    expert = tensors.get("expert")
    if expert is not None and not np.isin(expert, (0, 1)).all():
        raise InvalidDatasetError("expert must hold only 0 and 1")
    return UVADataset(
        frames=tensors["frames"],
        actions=tensors["actions"],
        episode_ids=tensors["episode_ids"],
        expert=(expert if expert is not None else np.ones(len(tensors["frames"]), np.uint8)).astype(bool),
        positions=tensors.get("positions"),
        targets=tensors.get("targets"),
        distractors=tensors.get("distractors"),
        sim_config=_parse_sim_config(metadata.get("sim_config")),
    )


def split_episodes(dataset: UVADataset, holdout_fraction: float, seed: int = 0) -> tuple[UVADataset, UVADataset]:
    """Split by whole episodes into (train, holdout)."""
    episodes = np.unique(dataset.episode_ids)
    rng = np.random.default_rng(seed)
    holdout = rng.choice(episodes, size=max(1, round(holdout_fraction * episodes.size)), replace=False)
    in_holdout = np.isin(dataset.episode_ids, holdout)
    return _select_rows(dataset, ~in_holdout), _select_rows(dataset, in_holdout)


def _select_rows(dataset: UVADataset, rows: np.ndarray) -> UVADataset:
    def pick(value: np.ndarray | None) -> np.ndarray | None:
        return None if value is None else value[rows]

    return UVADataset(
        frames=dataset.frames[rows],
        actions=dataset.actions[rows],
        episode_ids=dataset.episode_ids[rows],
        expert=dataset.expert[rows],
        positions=pick(dataset.positions),
        targets=pick(dataset.targets),
        distractors=pick(dataset.distractors),
        sim_config=dataset.sim_config,
    )


def _read_metadata(data: bytes) -> dict[str, object]:
    if len(data) < 8:
        raise InvalidDatasetError("file is too short to be safetensors")
    header_size = int.from_bytes(data[:8], "little")
    if header_size > min(len(data) - 8, 1 << 20):
        raise InvalidDatasetError("safetensors header size is out of range")
    try:
        header = json.loads(data[8 : 8 + header_size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidDatasetError("safetensors header is not JSON") from error
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    try:
        description = json.loads(metadata[METADATA_KEY])  # type: ignore[index]
    except (TypeError, KeyError, json.JSONDecodeError):
        description = None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise InvalidDatasetError(f"header metadata {METADATA_KEY!r} must declare format {FORMAT!r}")
    return description


def _parse_sim_config(fields: object) -> PointGoalConfig | None:
    if fields is None:
        return None
    try:
        return PointGoalConfig(**fields)  # type: ignore[arg-type]
    except TypeError as error:
        raise InvalidDatasetError(f"sim_config is not a valid PointGoalConfig: {error}") from error


def _validate(dataset: UVADataset) -> None:
    frames, actions, episode_ids = dataset.frames, dataset.actions, dataset.episode_ids
    if frames.dtype != np.uint8 or frames.ndim != 4:
        raise InvalidDatasetError(f"frames must be uint8 [N, C, H, W], got {frames.dtype} {frames.shape}")
    n = frames.shape[0]
    if n == 0:
        raise InvalidDatasetError("dataset is empty")
    if actions.dtype != np.float32 or actions.ndim != 2 or actions.shape[0] != n:
        raise InvalidDatasetError(f"actions must be float32 [{n}, A], got {actions.dtype} {actions.shape}")
    if not np.isfinite(actions).all() or np.abs(actions).max() > 1.0:
        raise InvalidDatasetError("actions must be finite and inside [-1, 1]")
    if episode_ids.dtype != np.int64 or episode_ids.shape != (n,):
        raise InvalidDatasetError(f"episode_ids must be int64 [{n}], got {episode_ids.dtype} {episode_ids.shape}")
    if dataset.expert.shape != (n,):
        raise InvalidDatasetError(f"expert must have shape [{n}]")
    starts = np.flatnonzero(np.diff(episode_ids) != 0) + 1
    block_ids = episode_ids[np.concatenate([[0], starts])]
    if np.unique(block_ids).size != block_ids.size:
        raise InvalidDatasetError("each episode's rows must be contiguous")
    for name in ("positions", "targets", "distractors"):
        value = getattr(dataset, name)
        if value is not None and (value.shape != (n, 2) or value.dtype != np.float32):
            raise InvalidDatasetError(f"{name} must be float32 [{n}, 2], got {value.dtype} {value.shape}")
    config = dataset.sim_config
    if config is not None and frames.shape[1:] != (3, config.image_size, config.image_size):
        raise InvalidDatasetError(f"frames {frames.shape[1:]} do not match sim image_size {config.image_size}")
