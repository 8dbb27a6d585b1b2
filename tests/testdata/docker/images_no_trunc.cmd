docker images --no-trunc
