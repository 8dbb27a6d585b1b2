docker images -q -a
