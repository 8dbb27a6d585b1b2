docker info --format '{{json .}}'
