docker rmi localhost:5000/x/y:1.0
