docker rmi
