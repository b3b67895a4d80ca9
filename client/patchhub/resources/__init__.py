"""The client's resource namespaces."""

from patchhub.resources.artifacts import Artifacts
from patchhub.resources.compositions import Composition, Compositions
from patchhub.resources.jobs import Jobs
from patchhub.resources.models import Models
from patchhub.resources.namespaces import Namespaces
from patchhub.resources.tokens import Tokens
from patchhub.resources.uploads import Uploads

__all__ = ["Artifacts", "Composition", "Compositions", "Jobs", "Models", "Namespaces", "Tokens", "Uploads"]
