"""ORM models, one file per aggregate. Importing this package registers every table on Base.metadata."""

from registry.models.artifact import Alias, Artifact, ArtifactParent
from registry.models.artifact_file import ArtifactFile, FolderUpload, FolderUploadFile
from registry.models.composition import Composition, CompositionRecipe
from registry.models.evaluation import Evaluation
from registry.models.job import Job, JobLog, JobStatus
from registry.models.model import Model
from registry.models.namespace import Namespace
from registry.models.token import ApiToken, Role
from registry.models.upload import Upload, UploadPart

__all__ = [
    "Alias",
    "ApiToken",
    "Artifact",
    "ArtifactFile",
    "ArtifactParent",
    "Composition",
    "CompositionRecipe",
    "Evaluation",
    "FolderUpload",
    "FolderUploadFile",
    "Job",
    "JobLog",
    "JobStatus",
    "Model",
    "Namespace",
    "Role",
    "Upload",
    "UploadPart",
]
