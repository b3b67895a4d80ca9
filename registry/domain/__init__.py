"""Operations on the registry's rows that both the HTTP resources and the jobs perform (registering artifacts,
finding and creating models, what a job reads and writes). No HTTP schemas here: ``registry/resources/*`` turns
these rows into the API's output, ``registry/contract`` hands them to workers."""
