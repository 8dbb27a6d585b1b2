docker rmi child:latest
