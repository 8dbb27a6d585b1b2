docker history child:latest
