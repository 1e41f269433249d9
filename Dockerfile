# MIC Studio for a class: one server, the shipped data and experts, nothing from the network
# at run time. The same two steps as the README: install the requirements, start the app.
#   docker build -t mic-studio .
#   docker run -p 8501:8501 -v mic-cache:/cache mic-studio
FROM python:3.11-slim
WORKDIR /app
# torch's CPU wheel first: requirements.txt pins torch==2.13.0, which PyPI would otherwise
# satisfy with a CUDA build of several GB
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# the classroom settings (mic_core/serving.py; README "Running it for a class")
ENV MIC_CACHE_DIR=/cache \
    MIC_MAX_WAITING=4 \
    MIC_MAX_TRAININGS_PER_HOUR=6 \
    MIC_TRAINING_THREADS=1 \
    MIC_CACHE_MAX_MB=200
VOLUME /cache
EXPOSE 8501
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
