docker images localhost:5000/x/y
