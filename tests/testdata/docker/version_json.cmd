docker version --format '{{json .}}'
