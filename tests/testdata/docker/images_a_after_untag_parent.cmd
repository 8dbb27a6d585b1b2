docker images -a
