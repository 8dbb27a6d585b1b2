docker images --format json
