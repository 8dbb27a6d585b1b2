docker images -q --no-trunc
