docker images --format '{{json .}}'
